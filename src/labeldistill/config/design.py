"""The study's grid, read from the prepared config: which texts each labeler labels, which
students train on whose labels at which sizes, and which prompt draw each seed learns from.

- A labeler with `shots_seeds: [0, 1, 2]` labels every part once per few-shot draw; each draw
  is a *label source* `{labeler}~shots{d}` with its own label files. Its few-shot condition is
  scored over the draws (as students are over seeds), and the student of the i-th seed learns
  from the i-th draw (cycling), so that one interval covers seeds and prompts at no extra
  training cost. A labeler without `shots_seeds` is its own single label source.
- An ensemble labeler (`backend: ensemble`) combines the label sources of its `members`: a
  member labeler with `shots_seeds` gives each of its draws, so one model with several
  few-shot draws is an ensemble of one member. An ensemble is a single label source itself.
- Training sizes: `train_sizes` (or the single `train_size`), overridden per labeler by
  `labelers.<name>.train_sizes` and `human.train_sizes`; an augmented labeler
  `human{k}+{llm}` (config `augment`) trains at the LLM's sizes above k unless it gives its own.
- Uncoded texts (`tasks.<name>.uncoded`): every LLM labeler but an ensemble labels them, and
  the students of `uncoded.students` (default: all) train on those labels as the training
  labeler `{llm}~uncoded` at `uncoded.train_sizes`, in the tasks that name uncoded texts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labeldistill.conditions import (
    ALL,
    HUMAN,
    Condition,
    augmented_name,
    draw_source,
    fewshot_condition,
    parse_source,
    parse_uncoded,
    size_key,
    size_label,
    student_condition,
    uncoded_name,
)
from labeldistill.corpus.uncoded import UNCODED, UncodedSettings
from labeldistill.errors import LabelDistillError
from labeldistill.teachers.settings import STUDY_SETTINGS


def sizes_config_key(config: Mapping, labeler: str) -> str:
    """The config key that gave a training labeler its sizes."""
    if labeler == HUMAN and (config.get("human") or {}).get("train_sizes"):
        return "human.train_sizes"
    if (config.get("labelers") or {}).get(labeler, {}).get("train_sizes"):
        return f"labelers.{labeler}.train_sizes"
    if "+" in labeler:
        return "augment"
    return "train_sizes" if config.get("train_sizes") else "train_size"


def _sizes(values) -> tuple[str, ...]:
    return tuple(sorted({size_label(value) for value in values}, key=size_key))


ENSEMBLE = "ensemble"  # the backend of a labeler that combines others


def ensemble_members(name: str, block: Mapping, labelers: Mapping, draws: Mapping) -> tuple[str, ...]:
    """The label sources an ensemble combines: each member labeler's draws, or a single draw
    (`gemma~shots1`); at least two, none an ensemble, the human labels or the ensemble itself."""
    key = f"config key labelers.{name}.members"
    sources: list[str] = []
    for member in block.get("members") or []:
        labeler, draw = parse_source(member)
        if labeler == HUMAN:
            raise LabelDistillError(
                f"{key}: human cannot be a member (the ensemble is scored against the human labels)"
            )
        if labeler == name:
            raise LabelDistillError(f"{key}: an ensemble cannot be its own member")
        if labeler not in labelers:
            others = sorted(n for n in labelers if n != name)
            raise LabelDistillError(f"{key}: {member!r} is not one of labelers {others}")
        if labelers[labeler].get("backend") == ENSEMBLE:
            raise LabelDistillError(
                f"{key}: {member!r} is an ensemble itself; name its members instead (ensembles of "
                "ensembles are not supported)"
            )
        given = draws.get(labeler)
        if draw is not None and (given is None or draw not in given):
            raise LabelDistillError(
                f"{key}: {member!r} is not a prompt draw of {labeler} "
                f"(its shots_seeds: {list(given) if given else 'none'})"
            )
        if draw is not None:
            chosen = [draw_source(labeler, draw)]
        else:
            chosen = [labeler] if given is None else [draw_source(labeler, d) for d in given]
        twice = [source for source in chosen if source in sources]
        if twice:
            raise LabelDistillError(f"{key}: {twice[0]} is a member twice")
        sources += chosen
    if len(sources) < 2:
        raise LabelDistillError(
            f"{key}: an ensemble needs at least 2 label sources, got {sources} (name two labelers, "
            "or one with shots_seeds: each of its draws is a member)"
        )
    return tuple(sources)


@dataclass(frozen=True)
class StudyDesign:
    seeds: tuple[int, ...]
    students: tuple[str, ...]
    llm_labelers: tuple[str, ...]
    draws: Mapping[str, tuple[int, ...] | None]  # LLM labeler -> its shots_seeds, or None
    train_sizes: Mapping[str, tuple[str, ...]]  # training labeler -> sizes ('250', 'all')
    augmented: Mapping[str, tuple[int, str]]  # augmented labeler -> (k, llm)
    ensembles: Mapping[str, tuple[str, ...]]  # ensemble labeler -> its member sources
    uncoded: UncodedSettings = UncodedSettings()
    uncoded_tasks: tuple[str, ...] = ()  # the tasks that name uncoded texts

    @classmethod
    def from_config(cls, config: Mapping) -> StudyDesign:
        labelers = config.get("labelers") or {}
        given = config.get("train_sizes") or [config.get("train_size") or ALL]
        default_sizes = _sizes(given)
        sizes = {HUMAN: _sizes((config.get("human") or {}).get("train_sizes") or default_sizes)}
        draws = {}
        for name, block in labelers.items():
            sizes[name] = _sizes(block.get("train_sizes") or default_sizes)
            # Sorted, as every file and table lists draws: seed i learns from the i-th draw.
            draws[name] = (
                tuple(sorted({int(d) for d in block["shots_seeds"]})) if block.get("shots_seeds") else None
            )
        ensembles = {
            name: ensemble_members(name, block, labelers, draws)
            for name, block in labelers.items()
            if block.get("backend") == ENSEMBLE
        }
        augmented = {}
        for index, entry in enumerate(config.get("augment") or []):
            k, llm = int(entry["human"]), str(entry["with"])
            key = f"config key augment[{index}]"
            if llm not in labelers:
                raise LabelDistillError(f"{key}.with: {llm!r} is not one of labelers {sorted(labelers)}")
            name = augmented_name(k, llm)
            if name in augmented:
                raise LabelDistillError(f"{key}: {name} is given twice")
            chosen = _sizes(entry.get("train_sizes") or [s for s in sizes[llm] if size_key(s) > k])
            if not chosen:
                raise LabelDistillError(
                    f"{key}: none of {llm}'s train_sizes {list(sizes[llm])} is above human: {k}; "
                    "give augment train_sizes larger than human"
                )
            small = [s for s in chosen if size_key(s) <= k]
            if small:
                raise LabelDistillError(
                    f"{key}.train_sizes: {small} must be larger than human: {k} (the rest are LLM labels)"
                )
            augmented[name] = (k, llm)
            sizes[name] = chosen
        uncoded = UncodedSettings.from_config(config)
        uncoded_tasks = tuple(name for name, task in (config.get("tasks") or {}).items() if task.get(UNCODED))
        if uncoded_tasks:
            for name in labelers:
                if name not in ensembles:
                    sizes[uncoded_name(name)] = uncoded.train_sizes
        return cls(
            seeds=tuple(int(seed) for seed in config.get("seeds") or []),
            students=tuple(config.get("students") or {}),
            llm_labelers=tuple(labelers),
            draws=draws,
            train_sizes=sizes,
            augmented=augmented,
            ensembles=ensembles,
            uncoded=uncoded,
            uncoded_tasks=uncoded_tasks,
        )

    # ---- label sources -----------------------------------------------------------------
    def sources_of(self, labeler: str) -> list[str]:
        """The label sources of an LLM labeler: one per prompt draw."""
        draws = self.draws[labeler]
        return [labeler] if draws is None else [draw_source(labeler, d) for d in draws]

    @property
    def llm_sources(self) -> list[str]:
        return [source for labeler in self.llm_labelers for source in self.sources_of(labeler)]

    def source_for_seed(self, labeler: str, seed: int) -> str:
        """The label source a seed's student learns from (human and one-draw labelers: itself)."""
        if labeler == HUMAN or self.draws.get(labeler) is None:
            return labeler
        draws = self.draws[labeler]
        index = self.seeds.index(int(seed)) if int(seed) in self.seeds else int(seed)
        return draw_source(labeler, draws[index % len(draws)])

    def draw_of_seed(self, labeler: str, seed: int) -> int | None:
        return parse_source(self.source_for_seed(labeler, seed))[1]

    def members_of(self, labeler: str) -> list[str]:
        """The label sources an ensemble labeler combines ([] for any other labeler)."""
        return list(self.ensembles.get(labeler, ()))

    @property
    def ensemble_labelers(self) -> list[str]:
        return list(self.ensembles)

    @staticmethod
    def source_settings(labelers: Mapping, source: str) -> dict:
        """A label source's labeling settings: its labeler's block with the draw's shots_seed,
        without the study's settings (changing those reruns no labeling)."""
        labeler, draw = parse_source(source)
        settings = {k: v for k, v in labelers[labeler].items() if k not in STUDY_SETTINGS}
        if draw is not None:
            settings["shots_seed"] = draw
        return settings

    # ---- conditions --------------------------------------------------------------------
    @property
    def uncoded_labelers(self) -> list[str]:
        """The training labelers of uncoded texts (`gemma~uncoded`), when a task names them."""
        return [uncoded_name(name) for name in self.llm_labelers if uncoded_name(name) in self.train_sizes]

    @property
    def training_labelers(self) -> list[str]:
        """Whose labels students learn from: human, augmented, each LLM labeler, then each LLM
        labeler's labels of uncoded texts."""
        return [HUMAN, *self.augmented, *self.llm_labelers, *self.uncoded_labelers]

    def trains_on(self, task: str | None, student: str, labeler: str) -> bool:
        """Whether `student` learns from `labeler` in `task` (None: in some task)."""
        if parse_uncoded(labeler) is None:
            return True
        if task is not None and task not in self.uncoded_tasks:
            return False
        return self.uncoded.students is None or student in self.uncoded.students

    def student_conditions(self, task: str | None = None) -> list[Condition]:
        """The student conditions of one task (None: of any task)."""
        return [
            student_condition(student, labeler, size)
            for student in self.students
            for labeler in self.training_labelers
            if self.trains_on(task, student, labeler)
            for size in self.train_sizes[labeler]
        ]

    def uncoded_sources(self) -> list[str]:
        """The label sources that label uncoded texts: every draw of a non-ensemble LLM labeler."""
        return [s for name in self.llm_labelers if name not in self.ensembles for s in self.sources_of(name)]

    def fewshot_conditions(self) -> list[Condition]:
        return [fewshot_condition(labeler) for labeler in self.llm_labelers]

    def numeric_sizes(self) -> dict[str, list[int]]:
        """Training labeler of the pool -> its sizes that are numbers (for checks against the pool)."""
        sizes = (
            (labeler, given) for labeler, given in self.train_sizes.items() if not parse_uncoded(labeler)
        )
        return {labeler: [int(size) for size in given if size != ALL] for labeler, given in sizes}

    def augmentation(self, labeler: str) -> tuple[int, str] | None:
        """(k, llm) of an augmented labeler, None for any other."""
        return self.augmented.get(labeler)

    def rest_labeler(self, labeler: str) -> str:
        """Whose labels a training labeler's texts carry beyond its human ones: the LLM behind an
        augmented or an uncoded-text labeler, any other labeler itself."""
        augmented = self.augmentation(labeler)
        return augmented[1] if augmented else (parse_uncoded(labeler) or labeler)

    def human_count(self, labeler: str) -> int | None:
        """How many of an augmented labeler's training texts keep their human label (None: not
        an augmented labeler)."""
        augmented = self.augmentation(labeler)
        return None if augmented is None else augmented[0]
