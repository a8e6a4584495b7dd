"""Candidate pools (naspredict.search.candidates): enumeration keyed by the space's identity,
the trust region against a brute-force neighbourhood, mutants, the encoded pool; bo and mobo
both build their pools here."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict.search import candidates as C
from naspredict.spaces import get_space
from naspredict.spaces.nbgraph import NBGraphSpace


def test_enumerated_pool_is_keyed_by_space_identity():
    """NAS-Bench-Graph's full and proteins op sets must not share a cache entry (the bug the
    architecture review measured with bo's old key)."""
    full, prot = NBGraphSpace("full"), NBGraphSpace("proteins")
    a, ka = C.enumerated_pool(full, full.canonical, 50_000)
    b, kb = C.enumerated_pool(prot, prot.canonical, 50_000)
    assert len(a) != len(b)
    assert all(set(x.ops) <= set(prot.ops) for x in b)
    assert len(set(ka)) == len(ka) and len(ka) == len(a)  # one representative per canonical form
    assert C.enumerated_pool(prot, prot.canonical, 50_000)[0] is b  # cached
    assert C.enumerated_pool(full, full.canonical, 100) is None  # too large for the limit
    assert C.space_size(get_space("darts"), 10_000) is None  # infinite / too large


def test_trust_region_is_the_breadth_first_neighbourhood_plus_random():
    sp = get_space("nb201")
    pool = C.enumerated_pool(sp, sp.canonical, 50_000)
    rng0 = np.random.default_rng(0)
    parents = [sp.sample(rng0) for _ in range(3)]
    seen = {sp.canonical(p) for p in parents}
    seen.add(sp.canonical(sp.neighbours(parents[0])[0]))  # one neighbour already evaluated
    is_new = lambda a: sp.canonical(a) not in seen  # noqa: E731
    out = C.trust_region(sp, parents, radius=1, max_size=10_000, n_random=0, key=sp.canonical,
                         is_new=is_new, rng=np.random.default_rng(1), pool=pool)
    want = {sp.canonical(b) for p in parents for b in sp.neighbours(p)} - seen
    got = [sp.canonical(a) for a in out]
    assert len(got) == len(set(got)) and set(got) == want
    # radius 2 contains radius 1 first (breadth first), then random rows, none seen
    r2 = C.trust_region(sp, parents, radius=2, max_size=10_000, n_random=50, key=sp.canonical,
                        is_new=is_new, rng=np.random.default_rng(1), pool=pool, exclude=(seen,))
    k2 = [sp.canonical(a) for a in r2]
    assert set(k2[: len(want)]) == want and not set(k2) & seen and len(k2) == len(set(k2))
    again = C.trust_region(sp, parents, radius=2, max_size=10_000, n_random=50, key=sp.canonical,
                           is_new=is_new, rng=np.random.default_rng(1), pool=pool, exclude=(seen,))
    assert [sp.canonical(a) for a in again] == k2  # same seed, same pool
    with pytest.raises(ValueError, match="pool= or sample_new="):
        C.trust_region(sp, parents, radius=1, max_size=10, n_random=5, key=sp.canonical,
                       is_new=is_new, rng=np.random.default_rng(1))


def test_mutants_are_new_distinct_and_reproducible():
    sp = get_space("darts")  # not enumerable: the mutant pool is what bo and mobo use there
    rng0 = np.random.default_rng(0)
    parents = [sp.sample(rng0) for _ in range(2)]
    seen = {sp.canonical(p) for p in parents}

    def run(seed):
        rng = np.random.default_rng(seed)
        sample = lambda n: [sp.sample(rng) for _ in range(n)]  # noqa: E731
        return C.mutants(sp, parents, n_mutants=30, n_total=45, key=sp.canonical,
                         is_new=lambda a: sp.canonical(a) not in seen, rng=rng, sample_new=sample)

    out = run(3)
    keys = [sp.canonical(a) for a in out]
    assert 30 <= len(out) <= 45 and len(set(keys)) == len(keys) and not set(keys) & seen
    assert keys == [sp.canonical(a) for a in run(3)]
    # the first ones are one-step neighbours of the first parent
    nb = {sp.canonical(b) for b in sp.neighbours(parents[0])}
    assert keys[0] in nb


def test_encoded_pool_scales_the_whole_space_to_unit_range():
    from naspredict.encodings import make_encoding
    sp = NBGraphSpace("proteins")
    ep = C.encoded_pool(sp, "onehot")
    assert ep.X.shape[0] == len(sp) and ep.X.min() >= 0 and ep.X.max() <= 1
    raw = np.asarray(make_encoding("onehot", sp).transform(ep.archs[:5]), float)
    np.testing.assert_allclose(ep.scale(raw), ep.X[:5])
    assert C.encoded_pool(sp, "onehot") is ep
    assert all(len(v) >= 1 for v in ep.levels())


def test_bo_and_mobo_build_their_pools_here():
    import naspredict.search.bo as bo
    import naspredict.search.mobo as mobo
    assert bo.enumerated_pool is C.enumerated_pool  # re-exported for older imports (mf-bo)
    assert mobo.encoded_pool is C.encoded_pool and bo.trust_region is C.trust_region
    src_bo, src_mobo = (open(m.__file__).read() for m in (bo, mobo))
    for s in (src_bo, src_mobo):  # no private pool caches or neighbourhood loops left
        assert "_POOL" not in s and ".neighbours(" not in s
