"""Everything that renders reports: from the store to the files analysts open."""
