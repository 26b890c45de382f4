"""Pure tests of the deterministic fault decision."""

from __future__ import annotations

from collections import Counter

from pageviews.testing import ALL_FAULT_KINDS, FaultConfig, FaultKind, decide_fault

URLS = [f"/api/v1/users/{n}/page_views?per_page=100&page=first" for n in range(2000)]


def test_decision_is_a_pure_function_of_seed_url_and_n() -> None:
    config = FaultConfig(seed=3, rate=0.5)
    first = [decide_fault(config, url, n) for url in URLS[:300] for n in range(3)]
    second = [
        decide_fault(FaultConfig(seed=3, rate=0.5), url, n) for url in URLS[:300] for n in range(3)
    ]
    assert first == second
    other_seed = [
        decide_fault(FaultConfig(seed=4, rate=0.5), url, n) for url in URLS[:300] for n in range(3)
    ]
    assert first != other_seed


def test_no_fault_from_the_max_consecutive_th_request_on() -> None:
    config = FaultConfig(rate=1.0, max_consecutive=2)
    for url in URLS[:200]:
        assert decide_fault(config, url, 0) is not None
        assert decide_fault(config, url, 1) is not None
        assert decide_fault(config, url, 2) is None
        assert decide_fault(config, url, 50) is None


def test_rate_is_respected_and_all_kinds_occur() -> None:
    config = FaultConfig(seed=1, rate=0.2)
    kinds = [decide_fault(config, url, 0) for url in URLS]
    faulted = [k for k in kinds if k is not None]
    assert 300 < len(faulted) < 500
    assert set(Counter(faulted)) == set(ALL_FAULT_KINDS)


def test_zero_rate_or_no_kinds_never_faults() -> None:
    assert all(decide_fault(FaultConfig(rate=0.0), url, 0) is None for url in URLS[:100])
    assert all(decide_fault(FaultConfig(rate=1.0, kinds=()), url, 0) is None for url in URLS[:100])


def test_kinds_restrict_the_choice() -> None:
    config = FaultConfig(rate=1.0, kinds=(FaultKind.RESET,))
    assert {decide_fault(config, url, 0) for url in URLS[:100]} == {FaultKind.RESET}


def test_all_fault_kinds_lists_every_member() -> None:
    assert set(ALL_FAULT_KINDS) == set(FaultKind)
    assert len(ALL_FAULT_KINDS) == 12
