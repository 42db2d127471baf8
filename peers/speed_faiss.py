"""Single-thread FAISS scan / encode speed on the shapes `codecbench speed` measures.

Usage: python peers/speed_faiss.py [--dim 384 --dim 768] [--rows 20000] [--queries 8]
       [--repeats 7] [--json]

Rows and queries are seeded standard Gaussians of the same shape as `codecbench speed`'s (rates
do not depend on the values for these codecs). Each index is trained on the rows, `add` is
timed (encode rows/s), then `search(queries, k=10)` (scan codes/s = rows × queries / s): FAISS's
own scan with its top-k heap, the way it is used. Median [min–max] over repeats, on one thread
(`faiss.omp_set_num_threads(1)`). Comparison only; never in codecbench's measurement path.
"""

import argparse
import json
import statistics
import time

import faiss
import numpy as np


def configs(d):
    ip = faiss.METRIC_INNER_PRODUCT

    def rabitq(qb, bits=1):
        def make():
            idx = faiss.IndexRaBitQ(d, ip, bits) if bits > 1 else faiss.IndexRaBitQ(d, ip)
            idx.qb = qb
            return idx

        return make

    def rr_rabitq(qb):
        # IndexRaBitQ itself does not rotate (a user adds the transform); this pair rotates as
        # ours does (rot=haar): a random rotation pre-transform, then RaBitQ.
        def make():
            idx = faiss.index_factory(d, f"RR{d},RaBitQ", ip)
            faiss.downcast_index(idx.index).qb = qb
            return idx

        return make

    return [
        ("SQ8", "sq:bits=8", lambda: faiss.index_factory(d, "SQ8", ip)),
        ("SQ4", "sq:bits=4", lambda: faiss.index_factory(d, "SQ4", ip)),
        (f"PQ{d // 2}x4", "pq:m=d/2,nbits=4", lambda: faiss.IndexPQ(d, d // 2, 4, ip)),
        (f"PQ{d // 2}x4fs", "pq:m=d/2,nbits=4,scan=fast", lambda: faiss.index_factory(d, f"PQ{d // 2}x4fs", ip)),
        (f"PQ{d // 8}x8", "pq:m=d/8,nbits=8", lambda: faiss.IndexPQ(d, d // 8, 8, ip)),
        ("RaBitQ qb=4", "rabitq:bits=1,qb=4", rabitq(4)),
        ("RaBitQ qb=0", "rabitq:bits=1", rabitq(0)),
        (f"RR{d},RaBitQ qb=4", "rabitq:bits=1,qb=4", rr_rabitq(4)),
        ("RaBitQ4 qb=4", "rabitq:bits=4", rabitq(4, 4)),
        (f"RR{d},SQtqmse4", "tq-mse:bits=4", lambda: faiss.index_factory(d, f"RR{d},SQtqmse4", ip)),
    ]


def stat(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, action="append")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    faiss.omp_set_num_threads(1)
    out = []
    for d in a.dim or [384, 768]:
        rng = np.random.default_rng(42)
        rows = rng.standard_normal((a.rows, d), dtype=np.float32)
        queries = rng.standard_normal((a.queries, d), dtype=np.float32)
        unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        for name, ours, make in configs(d):
            if a.only and name not in a.only:
                continue
            idx = make()
            data = unit if "tqmse" in name else rows
            idx.train(data)
            enc = []
            for _ in range(max(1, a.repeats // 2)):
                idx.reset()
                t = time.perf_counter()
                idx.add(data)
                enc.append(a.rows / (time.perf_counter() - t))
            idx.search(queries, 10)  # warm-up
            scan = []
            for _ in range(a.repeats):
                t = time.perf_counter()
                idx.search(queries, 10)
                scan.append(a.rows * a.queries / (time.perf_counter() - t))
            code = idx.sa_code_size() + (4 if "tqmse" in name else 0)
            r = {"faiss": name, "ours": ours, "dim": d, "code_bytes": code,
                 "encode_rows_per_s": stat(enc), "scan_codes_per_s": stat(scan)}
            out.append(r)
            if not a.json:
                s = r["scan_codes_per_s"]
                print(f"{name:18s} d={d:4d} B/row={code:4d} encode {r['encode_rows_per_s']['median']/1e3:8.1f}k/s  "
                      f"scan {s['median']/1e6:7.2f}M/s [{s['min']/1e6:.2f}–{s['max']/1e6:.2f}]", flush=True)
    if a.json:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
