"""Run peer codecs (FAISS, turbovec, rabitqlib) on a split exported by `codecbench export` and
write their score quality and timings as JSONL rows with codecbench's result field names.

Usage: peers.py SPLIT_DIR [SPLIT_DIR ...] --out peers.jsonl [--k 10] [--repeats 5]
                [--resamples 500] [--only faiss:SQ8 ...] [--append]

Every peer scores exactly the exported rows: fitted on train.npy, encoding base.npy, scoring the
exact queries.npy (asymmetric), and for self-pair splits the query's own base row is excluded
from its scores, as the runner does. Truth is the f64 inner product computed in numpy.

Metrics, as codecbench computes them (src/metric/suite.rs): per query Pearson and Spearman over
all candidates, pooled by Fisher-z averaging; recall@k = |exact top-k ∩ estimated top-k| / k;
slope / mae / bias per query (least-squares slope of estimate on truth), averaged over queries;
a 95% percentile bootstrap over queries for each CI.

Timings, each the median over --repeats repetitions (min and max are written too), measured
single-threaded (".t1", omp_set_num_threads(1)) and with all threads (".tall"):
- encode_rows_per_s: `index.reset(); index.add(base)` (training is not timed);
- scan_codes_per_s: `index.search(queries, k)` with the recall k (default 10): every code is
  scored for every query plus a k-heap, which is what `codecbench compare-peers` times for ours
  (estimate every code, keep the top k). Query preprocessing (rotation, LUTs) is inside both.
Estimates for the quality metrics come from one untimed search with k = all base rows.

Each row names the codecbench codec it is the peer of (`ours`), so that
`codecbench compare-peers` can fit ours on the same split and time it the same way.

Configurations and traps (algorithms.md §3, §5):
- faiss:SQ8 is per-dimension affine (min/max trained) = our `sq` (bits=8), not absmax int8.
- faiss:PQ{d/2}x4 = our `pq` default (m = d/2, 4 bits); its fast-scan form PQ{d/2}x4fs =
  `pq:scan=fast` (same codes, u8 tables, SIMD shuffle scan);
  with --pq8 also faiss:PQ{d/4}x8 = `pq:m=d/4,nbits=8` (same bytes; K-means wants ≥ 39·256
  training rows and is slow).
- faiss:RaBitQ quantises the query to qb = 4 bits by default; both qb=4 and qb=0 (float query)
  are run, paired with our `rabitq:bits=1,qb=4` (quantized query, nearest rounding, popcount
  scan, like FAISS) and `rabitq:bits=1` (float query) respectively. It centres on the training mean like our default `rabitq:bits=1` (centroid=mean) and
  stores the same bytes per row (⌈d/8⌉ + 8 bytes of factors); multi-bit RaBitQ decode in FAISS
  ignores the ex-bits, so only 1 bit is compared here.
- faiss:RR{d},SQtqmse{b} needs unit-norm rows and an explicit rotation: rows are normalised, the
  norms stored (4 bytes, counted) and the estimates multiplied back by them (= our tq-mse).
- faiss:LSH (random rotation + sign, Hamming distance) is symmetric and estimates an angle; its
  Pearson is that of −Hamming against the inner product (rank metrics are what it is for).
- turbovec needs d to be a multiple of 8 and scores with a 7-bit query LUT; it has no thread
  setting of its own here, so only its all-threads timings are written.
- rabitqlib exposes only indexes: an IVF with one cluster (centre = mean), full nprobe; a search
  with k = all rows returns every estimate (as −IP), so all metrics are defined.
- pyturboquant-cpu is decode-based numpy (estimates ⟨q, x̂⟩); only its encode is timed.
"""

import argparse
import json
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
try:
    import rabitqlib
except ImportError:
    rabitqlib = None
try:
    import pyturboquant_cpu
except ImportError:
    pyturboquant_cpu = None


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


def rowwise_slope(t, e):
    """Least-squares slope of estimate on truth, per query (NaN when truth is constant)."""
    tc = t - t.mean(axis=1, keepdims=True)
    ec = e - e.mean(axis=1, keepdims=True)
    stt = (tc * tc).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(stt > 0, (tc * ec).sum(1) / stt, np.nan)


def fisher_pool(r):
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return None
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return float(np.tanh(z.mean()))


def mean_pool(v):
    v = v[np.isfinite(v)]
    return float(np.mean(v)) if len(v) else None


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


def drop_self(truth, est):
    """For self-pair splits, drop each query's excluded (NaN-truth) column."""
    mask = np.isfinite(truth)
    if mask.all():
        return truth, est
    nq = truth.shape[0]
    ncand = int(mask[0].sum())
    return truth[mask].reshape(nq, ncand), est[mask].reshape(nq, ncand)


def recall_only(truth, top_ids, k, resamples):
    """recall@k from a peer's own top-k ids (index-level peers)."""
    truth = np.where(np.isfinite(truth), truth, -np.inf)
    kk = min(k, truth.shape[1])
    top_t = np.argsort(-truth, axis=1, kind="stable")[:, :kk]
    rec = np.array([len(set(a) & set(b[:kk])) / kk for a, b in zip(top_t, top_ids)])
    lo, hi = bootstrap(rec, mean_pool, resamples)
    return [(f"recall@{k}", mean_pool(rec), lo, hi, len(rec), kk / truth.shape[1])]


def quality(truth, est, k, resamples):
    """Metrics of estimates against truth; both (queries × candidates), NaN truth = excluded."""
    truth, est = drop_self(truth, est)
    nq = truth.shape[0]
    pear = rowwise_pearson(truth, est)
    spear = rowwise_pearson(ranks(truth), ranks(est))
    kk = min(k, truth.shape[1])
    top_t = np.argsort(-truth, axis=1, kind="stable")[:, :kk]
    top_e = np.argsort(-est, axis=1, kind="stable")[:, :kk]
    rec = np.array([len(set(a) & set(b)) / kk for a, b in zip(top_t, top_e)])
    slope = rowwise_slope(truth, est)
    mae = np.abs(est - truth).mean(1)
    bias = (est - truth).mean(1)
    out = []
    for name, per, pool in (
        ("pearson", pear, fisher_pool),
        ("spearman", spear, fisher_pool),
        (f"recall@{k}", rec, mean_pool),
        ("slope", slope, mean_pool),
        ("mae", mae, mean_pool),
        ("bias", bias, mean_pool),
    ):
        lo, hi = bootstrap(per, pool, resamples)
        chance = kk / truth.shape[1] if name.startswith("recall") else None
        out.append((name, pool(per), lo, hi, int(np.isfinite(per).sum()), chance))
    return out


def scores_from_search(D, I, nb):
    """Scatter a k = nb search result into a dense (queries × base) score matrix."""
    est = np.full((D.shape[0], nb), np.nan)
    rows = np.repeat(np.arange(D.shape[0]), D.shape[1])
    ok = I.ravel() >= 0
    est[rows[ok], I.ravel()[ok]] = D.ravel()[ok]
    return est


def stat(samples):
    s = sorted(samples)
    n = len(s)
    med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return med, s[0], s[-1]


def package_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a version we cannot read is reported as unknown
        return "unknown"


def all_threads():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class FaissPeer:
    """A FAISS index built from a factory string (or constructor), scored by exhaustive search."""

    def __init__(self, name, ours, make, unit=False, negate=False, setup=None):
        self.name, self.ours, self.make = name, ours, make
        self.unit, self.negate, self.setup = unit, negate, setup

    def run(self, train, base, queries, k, repeats):
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
        faiss.omp_set_num_threads(all_threads())
        index = self.make()
        if self.setup:
            self.setup(index)
        index.train(train)  # trained once; add and search are timed per thread count
        index.add(base_in)
        nb = index.ntotal
        D, I = index.search(queries, nb)  # untimed: every estimate, for the quality metrics
        est = scores_from_search(D.astype(np.float64), I, nb)
        if self.unit:
            est = est * norms[None, :].astype(np.float64)
        if self.negate:
            est = -est
        for label, threads in (("t1", 1), ("tall", all_threads())):
            faiss.omp_set_num_threads(threads)
            enc, scan = [], []
            index.reset()
            index.add(base_in)  # warm-up
            index.search(queries, k)
            for _ in range(repeats):
                index.reset()
                t = time.perf_counter()
                index.add(base_in)
                enc.append(len(base) / max(time.perf_counter() - t, 1e-9))
                t = time.perf_counter()
                index.search(queries, k)
                scan.append(nb * len(queries) / max(time.perf_counter() - t, 1e-9))
            timings[f"encode_rows_per_s.{label}"] = stat(enc)
            timings[f"scan_codes_per_s.{label}"] = stat(scan)
        faiss.omp_set_num_threads(all_threads())
        code_size = index.sa_code_size() + (4 if self.unit else 0)
        return est, timings, code_size


class TurbovecPeer:
    """turbovec's TurboQuantIndex(dim, bit_width), scored by search(k = all rows)."""

    def __init__(self, bits):
        self.name = f"turbovec:bits={bits}"
        self.ours = f"tq-mse:bits={bits},rot=hadamard"
        self.bits = bits

    def run(self, train, base, queries, k, repeats):
        d = base.shape[1]
        base = np.ascontiguousarray(base, dtype=np.float32)
        index = turbovec.TurboQuantIndex(dim=d, bit_width=self.bits)
        index.add(base)
        D, I = index.search(queries, len(base))
        est = scores_from_search(np.asarray(D, dtype=np.float64), np.asarray(I), len(base))
        enc, scan = [], []
        for _ in range(repeats):
            index = turbovec.TurboQuantIndex(dim=d, bit_width=self.bits)
            t = time.perf_counter()
            index.add(base)
            enc.append(len(base) / max(time.perf_counter() - t, 1e-9))
            t = time.perf_counter()
            index.search(queries, k)
            scan.append(len(base) * len(queries) / max(time.perf_counter() - t, 1e-9))
        timings = {"encode_rows_per_s.tall": stat(enc), "scan_codes_per_s.tall": stat(scan)}
        code_size = (self.bits * d + 7) // 8 + 4
        return est, timings, code_size


class RabitqlibPeer:
    """rabitqlib (RaBitQ-Library) IvfIndex with one cluster centred on the mean, metric "ip",
    full nprobe; a search with k = all rows gives every estimate (its distance is −⟨q, x⟩)."""

    def __init__(self, bits):
        self.name = f"rabitqlib:ivf1,bits={bits}"
        self.ours = f"rabitq:bits={bits}"
        self.bits = bits

    def build(self, base, threads):
        n, d = base.shape
        index = rabitqlib.IvfIndex(d, n, 1, self.bits, "ip")
        index.build(base, base.mean(0, keepdims=True), np.zeros(n, dtype=np.uint32), threads)
        return index

    def run(self, train, base, queries, k, repeats):
        base = np.ascontiguousarray(base, dtype=np.float32)
        nb = len(base)
        index = self.build(base, all_threads())
        ids, dist = index.search(queries, nb, 1)
        est = scores_from_search(-np.asarray(dist, dtype=np.float64), np.asarray(ids, dtype=np.int64), nb)
        timings = {}
        for label, threads in (("t1", 1), ("tall", all_threads())):
            enc, scan = [], []
            index.search(queries, k, 1, num_threads=threads)  # warm-up
            for _ in range(repeats):
                t = time.perf_counter()
                index = self.build(base, threads)
                enc.append(nb / max(time.perf_counter() - t, 1e-9))
                t = time.perf_counter()
                index.search(queries, k, 1, num_threads=threads)
                scan.append(nb * len(queries) / max(time.perf_counter() - t, 1e-9))
            timings[f"encode_rows_per_s.{label}"] = stat(enc)
            timings[f"scan_codes_per_s.{label}"] = stat(scan)
        # The library stores D·B/8 bits plus three f32 factors (F_add, F_rescale, F_error).
        code_size = (self.bits * base.shape[1] + 7) // 8 + 12
        return est, timings, code_size


class PyturboquantPeer:
    """pyturboquant-cpu quantize_mse / dequantize_mse (numpy, decode-based): estimates are
    ⟨q, x̂⟩; only encode is timed (its scan would be a numpy GEMM on decoded floats)."""

    def __init__(self, bits):
        self.name = f"pyturboquant:mse,bits={bits}"
        self.ours = f"tq-mse:bits={bits}"
        self.bits = bits

    def run(self, train, base, queries, k, repeats):
        base = np.ascontiguousarray(base, dtype=np.float32)
        code = pyturboquant_cpu.quantize_mse(base, self.bits, seed=42)
        est = queries.astype(np.float64) @ pyturboquant_cpu.dequantize_mse(code).astype(np.float64).T
        enc = []
        for _ in range(repeats):
            t = time.perf_counter()
            pyturboquant_cpu.quantize_mse(base, self.bits, seed=42)
            enc.append(len(base) / max(time.perf_counter() - t, 1e-9))
        code_size = (self.bits * base.shape[1] + 7) // 8 + 4
        return est, {"encode_rows_per_s.tall": stat(enc)}, code_size


def pq_specs(d, ntrain, pq8):
    """(factory, ours) pairs for PQ: our default pq (m = d/2, 4 bits) and its fast-scan form;
    with --pq8 also the same bytes with 8-bit codes (m = d/4; slow to train on 2 cores)."""
    out = []
    if d % 2 == 0 and ntrain >= 16:
        out.append((f"PQ{d // 2}x4", "pq"))
        out.append((f"PQ{d // 2}x4fs", "pq:scan=fast"))
    if pq8 and d % 4 == 0 and ntrain >= 256:
        out.append((f"PQ{d // 4}x8", "pq:m=d/4,nbits=8"))
    return out


def peers_for(d, ntrain, pq8=False):
    ip = faiss.METRIC_INNER_PRODUCT if faiss else None
    out = []
    if faiss:
        out.append(FaissPeer("faiss:SQ8", "sq", lambda: faiss.index_factory(d, "SQ8", ip)))
        for fac, ours in pq_specs(d, ntrain, pq8):
            out.append(
                FaissPeer(f"faiss:{fac}", ours, lambda f=fac: faiss.index_factory(d, f, ip))
            )

        def qb(v):
            def set_qb(index):
                index.qb = v

            return set_qb

        # Like for like: FAISS's qb = 4 (quantized query, popcount scan) pairs with our
        # rabitq:bits=1,qb=4; qb = 0 (float query) with our default float-query scorer.
        for v in (4, 0):
            out.append(
                FaissPeer(
                    f"faiss:RaBitQ:qb={v}",
                    f"rabitq:bits=1,qb={v}" if v else "rabitq:bits=1",
                    lambda: faiss.IndexRaBitQ(d, ip),
                    setup=qb(v),
                )
            )
        for b in (4,):
            out.append(
                FaissPeer(
                    f"faiss:RR{d},SQtqmse{b}",
                    f"tq-mse:bits={b}",
                    lambda b=b: faiss.index_factory(d, f"RR{d},SQtqmse{b}", ip),
                    unit=True,
                )
            )
        out.append(
            FaissPeer(
                "faiss:LSH(rot)",
                "sign",
                lambda: faiss.IndexLSH(d, d, True, False),
                negate=True,
            )
        )
    if turbovec and d % 8 == 0:
        out.append(TurbovecPeer(4))
    if rabitqlib:
        out.append(RabitqlibPeer(1))
    if pyturboquant_cpu:
        out.append(PyturboquantPeer(4))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("splits", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--append", action="store_true", help="append to --out instead of replacing")
    ap.add_argument("--resamples", type=int, default=500)
    ap.add_argument("--only", action="append", default=[], help="peer name (repeatable)")
    ap.add_argument("--pq8", action="store_true", help="also run faiss:PQ{d/4}x8 (slow training)")
    args = ap.parse_args()
    only = set(args.only)
    rows = []
    sink = open(args.out, "a" if args.append else "w")
    versions = {}
    if faiss:
        versions["faiss"] = faiss.__version__
    for name, mod in (
        ("turbovec", turbovec),
        ("rabitqlib", rabitqlib),
        ("pyturboquant-cpu", pyturboquant_cpu),
    ):
        if mod:
            versions[name] = package_version(name)
    for sd in args.splits:
        info, train, base, queries = load_split(sd)
        pop, d = info["population"], base.shape[1]
        truth = queries.astype(np.float64) @ base.astype(np.float64).T
        for qi, s in enumerate(info["query_self"]):
            if s is not None:
                truth[qi, s] = np.nan
        queries32 = np.ascontiguousarray(queries, dtype=np.float32)
        for peer in peers_for(d, len(train), args.pq8):
            if only and peer.name not in only:
                continue
            print(f"peers: {pop} {peer.name} …", file=sys.stderr, flush=True)
            try:
                est, timings, code_size = peer.run(train, base, queries32, args.k, args.repeats)
            except Exception as e:  # a peer that fails is reported, not fatal
                print(f"peers: {pop} {peer.name} failed: {e}", file=sys.stderr)
                continue
            common = dict(
                population=pop,
                codec=peer.name,
                ours=peer.ours,
                bytes_per_row=int(code_size),
                bits_per_dim=8.0 * code_size / d,
                dim=d,
                base_rows=int(base.shape[0]),
                queries=int(queries.shape[0]),
                split=info["split"],
                seed=info["seed"],
                split_sha256=info.get("sha256", {}).get("base.npy"),
                peer_versions=versions,
                threads_all=all_threads(),
                repeats=args.repeats,
                note=None,
            )
            first = len(rows)
            for name, value, lo, hi, n, chance in quality(truth, est, args.k, args.resamples):
                rows.append(
                    dict(common, metric=name, value=value, ci_lo=lo, ci_hi=hi, n=n, chance=chance)
                )
            for name, (med, lo, hi) in timings.items():
                rows.append(
                    dict(
                        common,
                        metric=name,
                        value=med,
                        ci_lo=lo,
                        ci_hi=hi,
                        n=args.repeats,
                        chance=None,
                        note="median [min, max] over repeats",
                    )
                )
            for r in rows[first:]:  # written as each peer finishes, so a cut-off run keeps them
                sink.write(json.dumps(r) + "\n")
            sink.flush()
    sink.close()
    # A side-by-side summary on stdout.
    cells = {}
    for r in rows:
        key = (r["population"], r["codec"], r["bytes_per_row"])
        cells.setdefault(key, {})[r["metric"]] = r["value"]
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
