"""Runs `label_with_api` in a process of its own, for tests that kill it or run several at once.

    python tests/openai_label_worker.py SPEC.json OUT.json

SPEC holds texts, labels, codebook, settings (the labeler's config block, parsed here as a job
parses it) and cache_dir; OUT gets the results and usage.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from labeldistill.teachers.openai.teacher import label_with_api
from labeldistill.teachers.settings import parse_labeler


def main() -> None:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    labeler = spec.get("labeler", "worker")
    results, usage = label_with_api(
        spec["texts"],
        spec.get("ids"),
        spec["codebook"],
        spec["labels"],
        [],
        parse_labeler(labeler, {"backend": "openai", **spec["settings"]}),
        cache_dir=spec["cache_dir"],
        labeler=labeler,
    )
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump({"results": [dataclasses.asdict(r) for r in results], "usage": usage.to_dict()}, out)


if __name__ == "__main__":
    main()
