"""`make bench`: training, batch scoring and service benchmarks in one run (tables + JSON).

    uv run python benchmarks/run.py                    # 100k, 1M, 3M training, 1M scoring,
                                                       # the 10,000-patient risk list, the stay
                                                       # distribution (benchmarks/stay.py), service
    uv run python benchmarks/run.py --train-sizes 100000 --score-rows 200000   # quicker
    uv run python benchmarks/run.py --tune             # also: defaults vs tuned vs reference
Not part of `make test`: it takes about 20 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from benchmarks import list as risk_list
from benchmarks import score, stay, train, tune
from benchmarks.common import ROOT, save


def main() -> None:
    """Run every benchmark and save one combined JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--train-sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000]
    )
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument("--shap-rows", type=int, default=100_000, help="rows for SHAP-bound steps")
    parser.add_argument("--list-inpatients", type=int, default=10_000, help="risk list census")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument(
        "--stay-train-rows", type=int, default=30_000, help="spells the stay benchmark trains on"
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="also run the LightGBM settings benchmark (benchmarks/tune.py, ~15 minutes)",
    )
    args = parser.parse_args()
    payload = {
        **train.main(args.train_sizes),
        **score.main(args.score_rows, 100_000, use_env=False, shap_rows=args.shap_rows),
        **risk_list.main(args.list_inpatients, 4, 100_000, use_env=False),
        **stay.main(args.stay_train_rows, 2_000, 5),
    }
    if args.tune:
        payload.update(tune.main(tune.DEFAULT_DATASETS))
    if not args.skip_serve:
        subprocess.run([sys.executable, "benchmarks/serve.py"], cwd=ROOT, check=True)
    print(f"results: {save('bench', payload)}")


if __name__ == "__main__":
    main()
