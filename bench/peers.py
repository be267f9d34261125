"""mlvsdl beside AutoGluon and FLAML on the same fixed splits at the same budget (issue 17, item 4).

Each peer runs in its own virtual environment, created by this script and never a dependency of
mlvsdl; mlvsdl runs from the interpreter that runs this script. Every run is a separate process
on the fixed splits of ``../shared/peers/datasets.py`` (the training rows to fit on, the shipped
or seeded test rows to score), and every score is computed here with scikit-learn from the test
predictions. Per run: test accuracy (or RMSE), wall time of the whole process, its peak memory
(the process tree, sampled) and the CPU other processes used meanwhile (the machine is shared:
a run with more than 0.3 cores of other load is marked ``~``).

    python bench/peers.py setup                          # the peers' venvs (once; ~3 GB)
    python bench/peers.py run --budget 120 --out peers-120.jsonl [--datasets a,b] [--peers ...]
    python bench/peers.py table bench/peers-120.jsonl    # the side-by-side table and the targets

mlvsdl's answer is the model its leaderboard ranks first on validation (the recommendation);
its best classical and best deep model (each the first of its kind on validation) are recorded
too, for the gap between the two sides. Test labels never choose a model.

This file imports only the standard library at module level: the same file is the worker that
runs inside each peer's venv (``peers.py worker PEER DATASET BUDGET OUT``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS_DIR = Path(os.environ.get("MLVSDL_PEERS_DIR", HERE.parents[1] / "shared" / "peers"))
VENV_ROOT = Path(os.environ.get("MLVSDL_PEERS_VENVS", Path.home() / ".cache" / "mlvsdl-peers"))
# The versions of the shared peers' harness (../shared/peers/README.md), so figures compare.
REQUIREMENTS = {
    "autogluon": ["autogluon.tabular[all]==1.6.3", "psutil"],
    "flaml": ["flaml==2.7.0", "lightgbm", "xgboost-cpu", "scikit-learn", "pandas", "scipy"],
}
PEERS = ["mlvsdl", *REQUIREMENTS]
DISTURBED = 0.3  # cores of other load during a run above which its timings are suspect
TIE = 0.002  # "ties": within 0.2 points of accuracy


# ----------------------------------------------------------------------------- setup


def _venv_python(peer: str) -> Path:
    return Path(sys.executable) if peer == "mlvsdl" else VENV_ROOT / peer / "bin" / "python"


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def setup(peers: list[str]) -> None:
    """Create each peer's venv (torch pinned to the CPU build the project uses) and record its
    install size in ``VENV_ROOT/sizes.json``."""
    VENV_ROOT.mkdir(parents=True, exist_ok=True)
    constraints = VENV_ROOT / "constraints.txt"
    constraints.write_text("torch==2.13.0\n")
    sizes_path = VENV_ROOT / "sizes.json"
    sizes = json.loads(sizes_path.read_text()) if sizes_path.exists() else {}
    for peer in peers:
        venv = VENV_ROOT / peer
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "-c", str(constraints)]
        subprocess.run([*pip, *REQUIREMENTS[peer]], check=True)
        sizes[peer] = round(_size_mb(venv))
        print(f"{peer}: {venv} ({sizes[peer]:,} MB)")
    prefix = Path(sys.prefix)
    sizes["mlvsdl"] = round(_size_mb(prefix))
    sizes_path.write_text(json.dumps(sizes, indent=1))
    print(f"mlvsdl's own venv: {prefix} ({sizes['mlvsdl']:,} MB, with its test tools)")


# ----------------------------------------------------------------------------- worker


def _datasets():
    os.environ.setdefault("MLVSDL_DATASETS", str(PEERS_DIR.parent / "datasets"))
    spec = importlib.util.spec_from_file_location("peers_datasets", PEERS_DIR / "datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _score(task: str, y_true, y_pred) -> dict:
    import numpy as np
    from sklearn.metrics import accuracy_score, mean_squared_error

    if task == "binary":
        return {"score": float(accuracy_score(np.asarray(y_true), np.asarray(y_pred).astype(int)))}
    rmse = math.sqrt(mean_squared_error(np.asarray(y_true), np.asarray(y_pred, dtype=float)))
    return {"score": float(rmse)}


def _fit_autogluon(train, test, target, task, budget, workdir) -> dict:
    import autogluon.tabular as agt

    predictor = agt.TabularPredictor(
        label=target,
        path=str(workdir / "ag"),
        verbosity=1,
        problem_type=task,
        eval_metric="accuracy" if task == "binary" else "root_mean_squared_error",
    ).fit(train, presets="medium_quality", time_limit=budget)
    pred = predictor.predict(test.drop(columns=[target]))
    return {"model": predictor.model_best, "version": agt.__version__, "pred": pred}


def _fit_flaml(train, test, target, task, budget, workdir) -> dict:
    import flaml

    automl = flaml.AutoML()
    automl.fit(
        X_train=train.drop(columns=[target]),
        y_train=train[target],
        task="classification" if task == "binary" else "regression",
        metric="accuracy" if task == "binary" else "rmse",
        time_budget=budget,
        seed=0,
        verbose=0,
        log_file_name="",
    )
    pred = automl.predict(test.drop(columns=[target]))
    return {"model": automl.best_estimator, "version": flaml.__version__, "pred": pred}


def _fit_mlvsdl(train, test, target, task, budget, workdir) -> dict:
    import mlvsdl

    result = mlvsdl.compare(
        train,
        target=target,
        task=task,  # as the peers are told (wine_quality's 3-9 scores would read as classes)
        test=test,
        metric="accuracy" if task == "binary" else "rmse",
        time_budget=budget,
        seed=0,
        store=workdir / "store",
    )
    board = result.leaderboard
    done = board[board["status"] == "completed"]
    by_kind = {}
    for kind in ("ml", "dl"):
        rows = done[done["kind"].str.lower() == kind]
        if len(rows):  # the leaderboard is sorted by validation score
            by_kind[kind] = {
                "model": rows.iloc[0]["model"],
                "test": float(rows.iloc[0]["test_score"]),
            }
    pred = result.best_model.predict(test.drop(columns=[target]))
    models = {r["model"]: [r["kind"], r["val_score"], r["test_score"]] for _, r in done.iterrows()}
    return {
        "model": result.best_model_name,
        "version": getattr(mlvsdl, "__version__", "?"),
        "pred": pred,
        "best_by_kind": by_kind,
        "models": models,
    }


def worker(peer: str, dataset: str, budget: float, out: Path) -> None:
    train, test, target, task = _datasets().load(dataset)
    fit = {"mlvsdl": _fit_mlvsdl, "autogluon": _fit_autogluon, "flaml": _fit_flaml}[peer]
    start = time.perf_counter()
    answer = fit(train, test, target, task, budget, out.parent)
    answer["fit_s"] = round(time.perf_counter() - start, 1)
    answer.update(_score(task, test[target], answer.pop("pred")), task=task, n_train=len(train))
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(answer, default=str))
    os.replace(tmp, out)


# ----------------------------------------------------------------------------- run


def _busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(x) for x in fh.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its descendants (peers fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(
                    int(entry)
                )
            except (OSError, ValueError):
                continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_one(peer: str, dataset: str, budget: float, log_dir: Path) -> dict:
    python = _venv_python(peer)
    if not python.exists():
        raise SystemExit(
            f"error: no venv for {peer} at {python.parent.parent}; run: peers.py setup"
        )
    workdir = Path(tempfile.mkdtemp(prefix=f"peers-{peer}-{dataset}-"))
    out = workdir / "result.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(RAY_AUTH_MODE="disabled", PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    command = [str(python), str(Path(__file__).resolve()), "worker", peer, dataset, str(budget)]
    log = log_dir / f"{peer}__{dataset}.log"
    before, cpu_before = _busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    start, peak, status = time.monotonic(), 0.0, None
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [*command, str(out)], cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid))
            if time.monotonic() - start > 3 * budget:
                status = "timeout"
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.5)
    wall = time.monotonic() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    record = {
        "peer": peer,
        "dataset": dataset,
        "budget_s": budget,
        "wall_s": round(wall, 1),
        "peak_mb": round(peak),
        "cpu_s": round(cpu, 1),
        "other_load": round(max(0.0, _busy_s() - before - cpu) / wall, 2),
        "log": str(log),
    }
    if status is None and out.exists():
        record.update(status="ok", **json.loads(out.read_text()))
    else:
        lines = log.read_text(errors="replace").splitlines()
        record.update(status=status or "error", error=(lines[-1] if lines else "no output")[:300])
    shutil.rmtree(workdir, ignore_errors=True)
    return record


def run(peers: list[str], datasets: list[str], budget: float, out: Path) -> None:
    log_dir = out.with_suffix(".logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    done = {(r["peer"], r["dataset"], r["budget_s"]) for r in _records(out) if r["status"] == "ok"}
    for dataset in datasets:  # peers interleaved per dataset, so each sees a similar machine
        for peer in peers:
            if (peer, dataset, budget) in done:
                continue
            record = run_one(peer, dataset, budget, log_dir)
            with open(out, "a") as fh:
                fh.write(json.dumps(record, default=str) + "\n")
            shown = {k: record.get(k) for k in ("score", "model", "wall_s", "peak_mb", "error")}
            print(f"{dataset:<32}{peer:<10}{record['status']:<8}{shown}", flush=True)


# ----------------------------------------------------------------------------- table


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(paths: list[Path]) -> None:
    latest = {}
    for path in paths:
        for r in _records(path):
            latest[(r["peer"], r["dataset"], r["budget_s"])] = r
    for budget in sorted({b for _, _, b in latest}):
        runs = {(p, d): r for (p, d, b), r in latest.items() if b == budget}
        peers = [p for p in PEERS if any(k[0] == p for k in runs)]
        datasets = list(dict.fromkeys(d for _, d in runs))
        print(f"\nBudget {budget:g} s: test accuracy (classification) or RMSE (regression)")
        print(
            f"{'dataset':<32}"
            + "".join(f"{p:>20}" for p in peers)
            + f"{'best ML':>10}{'best DL':>10}"
        )
        for d in datasets:
            cells = []
            for p in peers:
                r = runs.get((p, d), {})
                mark = "~" if r.get("other_load", 0) > DISTURBED else " "
                cell = (
                    f"{r['score']:.4f} {r['wall_s']:>4.0f}s{mark}"
                    if r.get("status") == "ok"
                    else r.get("status", "-")
                )
                cells.append(f"{cell:>20}")
            kinds = runs.get(("mlvsdl", d), {}).get("best_by_kind", {})
            sides = "".join(
                f"{kinds[k]['test']:>10.4f}" if k in kinds else f"{'-':>10}" for k in ("ml", "dl")
            )
            print(f"{d:<32}" + "".join(cells) + sides)  # fmt: skip
        _targets(runs, peers, datasets)


def _targets(runs: dict, peers: list[str], datasets: list[str]) -> None:
    def ok(p, d):
        return runs.get((p, d), {}).get("status") == "ok"

    clf = [d for d in datasets if ok("mlvsdl", d) and runs[("mlvsdl", d)]["task"] == "binary"]
    reg = [d for d in datasets if ok("mlvsdl", d) and runs[("mlvsdl", d)]["task"] != "binary"]
    for p in peers:
        scored = [runs[(p, d)]["score"] for d in clf if ok(p, d)]
        peak = sorted(runs[(p, d)]["peak_mb"] for d in datasets if ok(p, d))
        if scored:
            print(
                f"{p:<10} mean accuracy {sum(scored) / len(scored):.4f} over {len(scored)} tables; "
                f"peak memory median {peak[len(peak) // 2]:,} MB, max {peak[-1]:,} MB"
            )
    sizes_path = VENV_ROOT / "sizes.json"
    if sizes_path.exists():
        sizes = json.loads(sizes_path.read_text())
        print("install size: " + ", ".join(f"{p} {mb:,} MB" for p, mb in sizes.items()))
    for p in peers[1:]:
        both = [d for d in clf if ok(p, d)]
        level = sum(runs[("mlvsdl", d)]["score"] >= runs[(p, d)]["score"] - TIE for d in both)
        regs = [d for d in reg if ok(p, d)]
        lower = sum(runs[("mlvsdl", d)]["score"] <= runs[(p, d)]["score"] for d in regs)
        print(
            f"mlvsdl vs {p}: ties (within 0.2 points) or wins on {level} of {len(both)} "
            f"classification tables; RMSE at most {p}'s on {lower} of {len(regs)} regression tables"
        )
    close = [
        d
        for d in clf
        if {"ml", "dl"} <= set(runs[("mlvsdl", d)].get("best_by_kind", {}))
        and runs[("mlvsdl", d)]["best_by_kind"]["ml"]["test"]
        - runs[("mlvsdl", d)]["best_by_kind"]["dl"]["test"]
        <= 0.01
    ]
    print(
        f"best DL within 1 point of best ML (or ahead) on {len(close)} of {len(clf)} "
        f"tables: {close}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="create the peers' venvs")
    p_setup.add_argument("--peers", default=",".join(REQUIREMENTS))
    p_run = sub.add_parser("run", help="run peers on datasets, one process each")
    p_run.add_argument("--peers", default=",".join(PEERS))
    p_run.add_argument("--datasets", default=None, help="default: all of the shared splits")
    p_run.add_argument("--budget", type=float, default=120)
    p_run.add_argument("--out", type=Path, required=True, help="JSONL file; resumable")
    p_table = sub.add_parser("table", help="print the side-by-side table")
    p_table.add_argument("results", type=Path, nargs="+")
    p_work = sub.add_parser("worker", help=argparse.SUPPRESS)
    for name in ("peer", "dataset", "budget", "out"):
        p_work.add_argument(name)
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.peers.split(","))
    elif args.command == "run":
        names = args.datasets.split(",") if args.datasets else _datasets().NAMES
        run(args.peers.split(","), names, args.budget, args.out)
    elif args.command == "table":
        table(args.results)
    else:
        worker(args.peer, args.dataset, float(args.budget), Path(args.out))


if __name__ == "__main__":
    main()
