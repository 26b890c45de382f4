"""Sources: ways to read a fetch unit of a user's history into the store.

``listing`` follows the list endpoint's pages (and splits long chains into time
windows); the record filter decides which course each view belongs to.
"""
