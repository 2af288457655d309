#!/usr/bin/env python
"""Benchmark of the BG/NBD and MBG/NBD fits on a million customers: ours against lifetimes 0.11.3, same data.

    .venv/bin/pip install -e '.[bench]'                     # lifetimes, for this script only
    .venv/bin/python bench/clv_fit_bench.py                 # 1,000,000 customers, 5 runs of ours, 3 of lifetimes
    .venv/bin/python bench/clv_fit_bench.py --customers 200000 --runs 3 --lifetimes-runs 1

The customers are simulated from BG/NBD (r 0.25, α 4 per week, a 0.8, b 2.5) with first purchases spread
over two years and purchase times rounded up to whole days, as a transaction table would give them; their
mean spend comes from Gamma-Gamma (p 6, q 4, γ 15).  Time is in weeks.  Each fitter gets the same
(frequency, recency, T) arrays; ours includes the compression into distinct rows in its time.  Reported:
the median wall-clock time of each, the speed-up, and the log-likelihood of both maxima evaluated with the
same function on all customers (|ΔLL|).  lifetimes is also timed on the compressed rows with weights, to
show how much of the gain is the compression and how much the rest.  The MBG/NBD fit (ours and lifetimes'
ModifiedBetaGeoFitter) runs on the same BG/NBD data: the timing is what matters here, not the model.
``--blas-threads`` sets the BLAS thread count for both before numpy loads.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRUE_BG = (0.25, 4.0, 0.8, 2.5)
TRUE_GG = (6.0, 4.0, 15.0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", "1000000")))
    parser.add_argument("--runs", type=int, default=5, help="Timed runs of our fit.")
    parser.add_argument("--lifetimes-runs", type=int, default=3, help="Timed runs of lifetimes (0 to skip).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blas-threads", type=int, help="Set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS.")
    return parser.parse_args(argv)


def simulate(n, seed):
    import numpy as np

    from crm.analytics.stats import simulate as sim

    rng = np.random.default_rng(seed)
    age_days = rng.integers(1, 2 * 365 + 1, n)
    x, t_x = sim.simulate_bgnbd(TRUE_BG, age_days / 7, rng)
    last_days = np.where(x > 0, np.minimum(np.ceil(t_x * 7), age_days), 0)
    monetary = np.round(sim.simulate_gamma_gamma(TRUE_GG, x, rng), 2)
    return x, last_days / 7, age_days / 7, monetary


CPU = {}  # label -> CPU times of the runs


def timed(fn, runs, label=None):
    """Wall-clock times of ``runs`` calls (and, under ``label``, the process CPU times)."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    if label:
        CPU[label] = cpu
    return times, result


def cpu_note(label):
    return f"CPU median {statistics.median(CPU[label]):.3f} s"


def main(argv=None):
    args = parse_args(argv)
    if args.blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import scipy

    from crm.analytics.stats import bgnbd, gamma_gamma, mbgnbd
    from crm.analytics.stats.compress import encode_rows

    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{os.cpu_count()} CPUs, load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    start = time.perf_counter()
    x, t_x, T, monetary = simulate(args.customers, args.seed)
    print(f"simulated {args.customers:,} customers in {time.perf_counter() - start:.1f} s: "
          f"{int((x > 0).sum()):,} with repeat purchases, {int(x.sum()):,} repeat purchases")
    rows = encode_rows(x, t_x, T).rows
    print(f"distinct (x, t_x, T) rows: {rows:,}")

    ours_times, ours = timed(lambda: bgnbd.fit(x, t_x, T, std_errors=False), args.runs, "ours")
    ll_ours = float(bgnbd.log_likelihood(ours.params, x, t_x, T).sum())
    print(f"ours      BG/NBD fit: median {statistics.median(ours_times):.3f} s over {args.runs} runs "
          f"(min {min(ours_times):.3f}, max {max(ours_times):.3f}; {cpu_note('ours')}); {ours.iterations} iterations; "
          f"r {ours.params.r:.4f} alpha {ours.params.alpha:.4f} a {ours.params.a:.4f} b {ours.params.b:.4f}; "
          f"LL {ll_ours:.4f}")
    mbg_times, mbg = timed(lambda: mbgnbd.fit(x, t_x, T, std_errors=False), args.runs, "ours mbg")
    ll_mbg = float(mbgnbd.log_likelihood(mbg.params, x, t_x, T).sum())
    print(f"ours      MBG/NBD fit: median {statistics.median(mbg_times):.3f} s over {args.runs} runs "
          f"(min {min(mbg_times):.3f}, max {max(mbg_times):.3f}; {cpu_note('ours mbg')}); {mbg.iterations} "
          f"iterations; r {mbg.params.r:.4f} alpha {mbg.params.alpha:.4f} a {mbg.params.a:.4f} "
          f"b {mbg.params.b:.4f}; LL {ll_mbg:.4f}")
    gg_times, gg = timed(lambda: gamma_gamma.fit(x, monetary, std_errors=False), args.runs)
    print(f"ours      Gamma-Gamma fit: median {statistics.median(gg_times):.3f} s on {int(gg.customers):,} "
          f"customers; p {gg.params.p:.4f} q {gg.params.q:.4f} gamma {gg.params.gamma:.4f}")

    if args.lifetimes_runs <= 0:
        return
    try:
        import warnings

        warnings.filterwarnings("ignore")
        from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter
    except ImportError:
        print("lifetimes is not installed: pip install -e '.[bench]' to compare.")
        return

    def lifetimes_fit(frequency, recency, age, weights=None):
        return BetaGeoFitter().fit(frequency, recency, age, weights=weights)

    lt_times, lt = timed(lambda: lifetimes_fit(x, t_x, T), args.lifetimes_runs, "lifetimes")
    p = lt.params_
    lt_params = (float(p["r"]), float(p["alpha"]), float(p["a"]), float(p["b"]))
    ll_lt = float(bgnbd.log_likelihood(lt_params, x, t_x, T).sum())
    # lifetimes' own objective, on unscaled time: mean negative log-likelihood per customer.
    own = -float(lt._negative_log_likelihood(np.log(lt_params), x, t_x, T, np.ones(len(x)), 0.0)) * len(x)
    print(f"lifetimes BG/NBD fit: median {statistics.median(lt_times):.3f} s over {args.lifetimes_runs} runs "
          f"(min {min(lt_times):.3f}, max {max(lt_times):.3f}; {cpu_note('lifetimes')}); "
          f"r {lt_params[0]:.4f} alpha {lt_params[1]:.4f} "
          f"a {lt_params[2]:.4f} b {lt_params[3]:.4f}; LL {ll_lt:.4f} (its own function: {own:.4f})")

    enc = encode_rows(x, t_x, T)
    cx, ct, cT = enc.column(0), enc.column(1), enc.column(2)
    ltc_times, ltc = timed(lambda: lifetimes_fit(cx, ct, cT, enc.counts.astype(np.int64)), args.lifetimes_runs)
    print(f"lifetimes on the {enc.rows:,} compressed rows with weights (compression not timed): "
          f"median {statistics.median(ltc_times):.3f} s")

    speedup = statistics.median(lt_times) / statistics.median(ours_times)
    cpu_speedup = statistics.median(CPU["lifetimes"]) / statistics.median(CPU["ours"])
    print(f"speed-up (median lifetimes / median ours): {speedup:.1f}x wall-clock, {cpu_speedup:.1f}x CPU; "
          f"|ΔLL| = {abs(ll_ours - ll_lt):.2e} (ours {'higher' if ll_ours >= ll_lt else 'lower'})")

    ltm_times, ltm = timed(lambda: ModifiedBetaGeoFitter().fit(x, t_x, T), args.lifetimes_runs, "lifetimes mbg")
    p = ltm.params_
    ltm_params = (float(p["r"]), float(p["alpha"]), float(p["a"]), float(p["b"]))
    ll_ltm = float(mbgnbd.log_likelihood(ltm_params, x, t_x, T).sum())
    print(f"lifetimes MBG/NBD fit: median {statistics.median(ltm_times):.3f} s over {args.lifetimes_runs} runs "
          f"({cpu_note('lifetimes mbg')}); r {ltm_params[0]:.4f} alpha {ltm_params[1]:.4f} a {ltm_params[2]:.4f} "
          f"b {ltm_params[3]:.4f}; LL {ll_ltm:.4f}")
    print(f"MBG/NBD speed-up: {statistics.median(ltm_times) / statistics.median(mbg_times):.1f}x wall-clock, "
          f"{statistics.median(CPU['lifetimes mbg']) / statistics.median(CPU['ours mbg']):.1f}x CPU; "
          f"|ΔLL| = {abs(ll_mbg - ll_ltm):.2e} (ours {'higher' if ll_mbg >= ll_ltm else 'lower'})")


if __name__ == "__main__":
    main()
