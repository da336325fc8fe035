"""Every evaluation: seeds, ECB+ and UCI in one table, then the real feeds' labelled pairs.

Run from the repo root: .venv/bin/python -m eval.run_all
"""

from __future__ import annotations

from eval import eval_ecbplus, eval_feeds, eval_seeds, eval_uci
from eval.common import HEADER, print_table


def main() -> None:
    """Print the seed checks, ECB+ and UCI B-cubed scores, then the labelled pairs of the real feeds."""
    seed_results = eval_seeds.checks()
    passed = sum(ok for _, ok, _ in seed_results)
    print(f"seeds: {passed}/{len(seed_results)} checks pass")
    for name, ok, detail in seed_results:
        print(f"  {'pass' if ok else 'FAIL'}  {name}  ({detail})")
    print()
    ecb_row, ecb = eval_ecbplus.evaluate()
    uci_row, uci = eval_uci.evaluate()
    print_table([ecb_row, uci_row], HEADER)
    print(
        f"targets: ECB+ F1 >= {eval_ecbplus.TARGET_F1} ({'met' if ecb.f1 >= eval_ecbplus.TARGET_F1 else 'NOT met'}), "
        f"UCI F1 >= {eval_uci.TARGET_F1} ({'met' if uci.f1 >= eval_uci.TARGET_F1 else 'NOT met'})"
    )
    print()
    feeds_row, _ = eval_feeds.evaluate()
    print_table([feeds_row], eval_feeds.HEADER)
    print("reproduce: .venv/bin/python -m eval.run_all")


if __name__ == "__main__":
    main()
