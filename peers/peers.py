"""Run peer codecs (FAISS, turbovec) on a split exported by `codecbench export` and write their
score quality and timings as JSONL rows with codecbench's result field names.

Usage: peers.py SPLIT_DIR [SPLIT_DIR ...] --out peers.jsonl [--k 10] [--threads N]
                [--resamples 500] [--only faiss:SQ8 ...]

Every peer scores exactly the exported rows: fitted on train.npy, encoding base.npy, scoring the
exact queries.npy (asymmetric), and for self-pair splits the query's own base row is excluded
from its scores, as the runner does. Truth is the f64 inner product computed in numpy.

Metrics, as codecbench computes them: per query Pearson and Spearman over all candidates, pooled
by Fisher-z averaging; recall@k = |exact top-k ∩ estimated top-k| / k averaged over queries;
slope of the least-squares fit estimate ~ truth pooled over all pairs; a 95% percentile
bootstrap over queries for each CI. Timings (encode rows/s, scan codes/s) are measured
single-threaded (".t1") and with all threads (".tall"); scans are FAISS/turbovec searches with
k = all base rows, so they include the top-k selection that a pure estimate scan does not.

Configurations and traps (algorithms.md §3, §5):
- faiss:SQ8 is per-dimension affine (min/max trained), not our per-row absmax int8.
- faiss:PQ{M}x8 uses M = d/8 sub-quantizers (1 bit/dim; codecbench has no PQ codec yet);
  K-means wants ≥ 39·256 training rows per sub-quantizer.
- faiss:RaBitQ quantises the query to qb = 4 bits by default; both qb=4 and qb=0 (float query)
  are run.
- faiss:RR{d},SQtqmse{b} needs unit-norm rows and an explicit rotation: rows are normalised, the
  norms stored (4 bytes, counted) and the estimates multiplied back by them.
- faiss:LSH (random rotation + sign, Hamming distance) is symmetric and estimates an angle; its
  Pearson is that of −Hamming against the inner product (rank metrics are what it is for).
- turbovec needs d to be a multiple of 8 and scores with a 7-bit query LUT.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover - run_peers.sh installs it
    faiss = None
try:
    import turbovec
except ImportError:
    turbovec = None


def load_split(d):
    with open(os.path.join(d, "split.json")) as f:
        info = json.load(f)
    arr = {n: np.load(os.path.join(d, n + ".npy")) for n in ("base", "queries", "train")}
    return info, arr["train"], arr["base"], arr["queries"]


def ranks(a):
    """Average ranks (ties share their mean rank), per row of a 2-D array."""
    out = np.empty_like(a, dtype=np.float64)
    for i, row in enumerate(a):
        order = np.argsort(row, kind="mergesort")
        r = np.empty(len(row))
        r[order] = np.arange(len(row), dtype=np.float64)
        s = row[order]
        # tie groups
        bounds = np.flatnonzero(np.diff(s)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(s)]))
        for a0, b0 in zip(starts, ends):
            if b0 - a0 > 1:
                r[order[a0:b0]] = (a0 + b0 - 1) / 2.0
        out[i] = r
    return out


def rowwise_pearson(x, y):
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc * xc).sum(1) * (yc * yc).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(1) / den, np.nan)


def fisher_pool(r):
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return None
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return float(np.tanh(z.mean()))


def bootstrap(per_query, pool, resamples, seed=42):
    rng = np.random.default_rng(seed)
    n = len(per_query)
    vals = []
    for _ in range(resamples):
        v = pool(per_query[rng.integers(0, n, n)])
        if v is not None:
            vals.append(v)
    if not vals:
        return None, None
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def quality(truth, est, k, resamples):
    """Metrics of estimates against truth; both (queries × candidates), NaN = excluded pair."""
    mask = np.isfinite(truth)
    nq = truth.shape[0]
    if not mask.all():  # self-pairs: drop the excluded column of each query
        ncand = int(mask[0].sum())
        truth = truth[mask].reshape(nq, ncand)
        est = est[mask].reshape(nq, ncand)
    pear = rowwise_pearson(truth, est)
    spear = rowwise_pearson(ranks(truth), ranks(est))
    kk = min(k, truth.shape[1])
    top_t = np.argsort(-truth, axis=1, kind="stable")[:, :kk]
    top_e = np.argsort(-est, axis=1, kind="stable")[:, :kk]
    rec = np.array([len(set(a) & set(b)) / kk for a, b in zip(top_t, top_e)])
    t, e = truth.ravel(), est.ravel()
    tc = t - t.mean()
    slope = float((tc * (e - e.mean())).sum() / (tc * tc).sum()) if (tc * tc).sum() > 0 else None
    mean = lambda v: float(np.mean(v))  # noqa: E731
    out = []
    for name, per, pool in (
        ("pearson", pear, fisher_pool),
        ("spearman", spear, fisher_pool),
        (f"recall@{k}", rec, mean),
    ):
        lo, hi = bootstrap(per, pool, resamples)
        chance = kk / truth.shape[1] if name.startswith("recall") else None
        out.append((name, pool(per), lo, hi, nq, chance))
    out.append(("slope", slope, None, None, nq, None))
    out.append(("mae", float(np.mean(np.abs(e - t))), None, None, nq, None))
    out.append(("bias", float(np.mean(e - t)), None, None, nq, None))
    return out


def scores_from_search(D, I, nb):
    """Scatter a k = nb search result into a dense (queries × base) score matrix."""
    est = np.full((D.shape[0], nb), np.nan)
    rows = np.repeat(np.arange(D.shape[0]), D.shape[1])
    ok = I.ravel() >= 0
    est[rows[ok], I.ravel()[ok]] = D.ravel()[ok]
    return est


class FaissPeer:
    """A FAISS index built from a factory string (or constructor), scored by exhaustive search."""

    def __init__(self, name, make, unit=False, negate=False, setup=None):
        self.name, self.make, self.unit, self.negate, self.setup = name, make, unit, negate, setup

    def run(self, train, base, queries):
        norms = np.linalg.norm(base, axis=1).astype(np.float32)
        if self.unit:
            safe = np.where(norms > 0, norms, 1.0)[:, None]
            train = train / np.maximum(np.linalg.norm(train, axis=1, keepdims=True), 1e-30)
            base_in = (base / safe).astype(np.float32)
        else:
            base_in = base
        train = np.ascontiguousarray(train, dtype=np.float32)
        base_in = np.ascontiguousarray(base_in, dtype=np.float32)
        timings = {}
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        index = self.make()
        if self.setup:
            self.setup(index)
        index.train(train)  # trained once; add and search are timed per thread count
        est = None
        for label, threads in (("t1", 1), ("tall", os.cpu_count() or 1)):
            faiss.omp_set_num_threads(threads)
            index.reset()
            t = time.perf_counter()
            index.add(base_in)
            timings[f"encode_rows_per_s.{label}"] = len(base) / max(time.perf_counter() - t, 1e-9)
            nb = index.ntotal
            t = time.perf_counter()
            D, I = index.search(queries, nb)
            timings[f"scan_codes_per_s.{label}"] = nb * len(queries) / max(
                time.perf_counter() - t, 1e-9
            )
            if est is None:
                est = scores_from_search(D.astype(np.float64), I, nb)
                if self.unit:
                    est = est * norms[None, :].astype(np.float64)
                if self.negate:
                    est = -est
        code_size = index.sa_code_size() + (4 if self.unit else 0)
        return est, timings, code_size


class TurbovecPeer:
    """turbovec's TurboQuantIndex(dim, bit_width), scored by search(k = all rows)."""

    def __init__(self, bits):
        self.name = f"turbovec:bits={bits}"
        self.bits = bits

    def run(self, train, base, queries):
        d = base.shape[1]
        timings = {}
        index = turbovec.TurboQuantIndex(dim=d, bit_width=self.bits)
        t = time.perf_counter()
        index.add(np.ascontiguousarray(base, dtype=np.float32))
        timings["encode_rows_per_s.tall"] = len(base) / max(time.perf_counter() - t, 1e-9)
        t = time.perf_counter()
        D, I = index.search(np.ascontiguousarray(queries, dtype=np.float32), len(base))
        timings["scan_codes_per_s.tall"] = len(base) * len(queries) / max(
            time.perf_counter() - t, 1e-9
        )
        est = scores_from_search(np.asarray(D, dtype=np.float64), np.asarray(I), len(base))
        code_size = (self.bits * d + 7) // 8 + 4
        return est, timings, code_size


def pq_m(d, bits_per_dim):
    """Largest M dividing d with M·8 ≤ bits_per_dim·d."""
    target = max(1, int(d * bits_per_dim / 8))
    for m in range(target, 0, -1):
        if d % m == 0:
            return m
    return 1


def peers_for(d, ntrain):
    ip = faiss.METRIC_INNER_PRODUCT if faiss else None
    out = []
    if faiss:
        out.append(FaissPeer("faiss:SQ8", lambda: faiss.index_factory(d, "SQ8", ip)))
        for bpd in (1,):
            m = pq_m(d, bpd)
            if ntrain >= 256:
                out.append(
                    FaissPeer(f"faiss:PQ{m}x8", lambda m=m: faiss.index_factory(d, f"PQ{m}x8", ip))
                )

        def qb(v):
            def set_qb(index):
                index.qb = v

            return set_qb

        out.append(
            FaissPeer(
                "faiss:RaBitQ:qb=4", lambda: faiss.IndexRaBitQ(d, ip), setup=qb(4)
            )
        )
        out.append(
            FaissPeer(
                "faiss:RaBitQ:qb=0", lambda: faiss.IndexRaBitQ(d, ip), setup=qb(0)
            )
        )
        for b in (4,):
            out.append(
                FaissPeer(
                    f"faiss:RR{d},SQtqmse{b}",
                    lambda b=b: faiss.index_factory(d, f"RR{d},SQtqmse{b}", ip),
                    unit=True,
                )
            )
        out.append(
            FaissPeer(
                "faiss:LSH(rot)",
                lambda: faiss.IndexLSH(d, d, True, False),
                negate=True,
            )
        )
    if turbovec and d % 8 == 0:
        out.append(TurbovecPeer(4))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("splits", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--append", action="store_true", help="append to --out instead of replacing")
    ap.add_argument("--resamples", type=int, default=500)
    ap.add_argument("--only", action="append", default=[], help="peer name (repeatable)")
    args = ap.parse_args()
    only = set(args.only)
    rows = []
    sink = open(args.out, "a" if args.append else "w")
    for sd in args.splits:
        info, train, base, queries = load_split(sd)
        pop, d = info["population"], base.shape[1]
        truth = queries.astype(np.float64) @ base.astype(np.float64).T
        for qi, s in enumerate(info["query_self"]):
            if s is not None:
                truth[qi, s] = np.nan
        queries32 = np.ascontiguousarray(queries, dtype=np.float32)
        for peer in peers_for(d, len(train)):
            if only and peer.name not in only:
                continue
            print(f"peers: {pop} {peer.name} …", file=sys.stderr, flush=True)
            try:
                est, timings, code_size = peer.run(train, base, queries32)
            except Exception as e:  # a peer that fails is reported, not fatal
                print(f"peers: {pop} {peer.name} failed: {e}", file=sys.stderr)
                continue
            common = dict(
                population=pop,
                codec=peer.name,
                bytes_per_row=int(code_size),
                bits_per_dim=8.0 * code_size / d,
                dim=d,
                base_rows=int(base.shape[0]),
                queries=int(queries.shape[0]),
                split=info["split"],
                seed=info["seed"],
                note=None,
            )
            first = len(rows)
            for name, value, lo, hi, n, chance in quality(truth, est, args.k, args.resamples):
                rows.append(
                    dict(
                        common,
                        metric=name,
                        value=value,
                        ci_lo=lo,
                        ci_hi=hi,
                        n=n,
                        chance=chance,
                    )
                )
            for name, value in timings.items():
                rows.append(
                    dict(common, metric=name, value=value, ci_lo=None, ci_hi=None, n=1, chance=None)
                )
            for r in rows[first:]:  # written as each peer finishes, so a cut-off run keeps them
                sink.write(json.dumps(r) + "\n")
            sink.flush()
    sink.close()
    # A side-by-side summary on stdout.
    cells = {}
    for r in rows:
        cells.setdefault((r["population"], r["codec"], r["bytes_per_row"]), {})[r["metric"]] = r[
            "value"
        ]
    fmt = lambda v: "—" if v is None else (f"{v:.4f}" if abs(v) < 100 else f"{v:.3g}")  # noqa
    print(
        f"{'population':18} {'codec':24} {'B/row':>6} {'pearson':>8} {'spearman':>8} "
        f"{'recall@' + str(args.k):>9} {'slope':>7} {'enc/s t1':>9} {'scan/s t1':>9}"
    )
    for (pop, codec, b), m in cells.items():
        print(
            f"{pop:18} {codec:24} {b:>6} {fmt(m.get('pearson')):>8} {fmt(m.get('spearman')):>8} "
            f"{fmt(m.get('recall@' + str(args.k))):>9} {fmt(m.get('slope')):>7} "
            f"{fmt(m.get('encode_rows_per_s.t1')):>9} {fmt(m.get('scan_codes_per_s.t1')):>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
