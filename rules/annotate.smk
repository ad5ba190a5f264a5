# Finds or converts a local LLM in the shared MODELS_DIR and records which folder this checkout
# uses. Its params are what the folder's content depends on (read cheaply, no file hashed), not
# the stage's code fingerprint: only a change of those makes a new folder, and only then should
# the labeling jobs downstream rerun.
rule prepare_local_model:
    output:
        LOCAL_MODEL,
    params:
        source=lambda w: local_model_source(w.model),
        models_dir=MODELS_DIR,
        facts=lambda w: local_model_facts_of(w.model),
    threads: 1
    resources:
        **rule_resources("prepare_local_model"),
    log:
        log_file("prepare_local_model/{model}"),
    benchmark:
        benchmark_file("prepare_local_model/{model}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/prepare_model.py"


# A local labeler: one job per task loads the model once, measures the prompt's calibration on
# the pool once and labels every part (why: stages/annotate.py, run_local).
rule annotate_local:
    input:
        unpack(annotate_local_inputs),
    output:
        **{f"{part}_labels": LABELS.replace("{part}", part) for part in PARTS},
        **{f"{part}_usage": USAGE.replace("{part}", part) for part in PARTS},
        calibration=CALIBRATION,
    wildcard_constraints:
        labeler=LOCAL_LABELER,
    params:
        labels=lambda w: config["tasks"][w.task]["labels"],
        question=lambda w: task_spec(w.task).question,
        labeler=lambda w: labeler_settings(w.labeler),
        code=fingerprint("annotate"),
    threads: lambda w: labeler_threads(w.labeler)
    resources:
        **rule_resources("annotate", "labeler", LABELER_ON_GPU),
    log:
        log_file("annotate_local/{task}/{labeler}"),
    benchmark:
        benchmark_file("annotate_local/{task}/{labeler}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/annotate_local.py"


# Human and API labelers: one job per part (an API job's answers are cached per request).
rule annotate:
    input:
        unpack(annotate_inputs),
    output:
        labels=LABELS,
        usage=USAGE,
    wildcard_constraints:
        labeler=PART_LABELER,
    params:
        labels=lambda w: config["tasks"][w.task]["labels"],
        question=lambda w: task_spec(w.task).question,
        labeler=lambda w: labeler_settings(w.labeler),
        code=fingerprint("annotate"),
    threads: lambda w: labeler_threads(w.labeler)
    resources:
        **rule_resources("annotate", "labeler", LABELER_ON_GPU),
    log:
        main=log_file("annotate/{task}/{labeler}/{part}"),
        server=log_file("annotate/{task}/{labeler}/{part}", ".server.log"),
    benchmark:
        benchmark_file("annotate/{task}/{labeler}/{part}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/annotate.py"


# An ensemble labeler: its members' labels of every part of a task combined in one job (a
# Dawid-Skene fit sees all parts at once); it sends no request and loads no model.
rule combine:
    input:
        unpack(combine_inputs),
    output:
        **{f"{part}_labels": LABELS.replace("{part}", part) for part in PARTS},
        **{f"{part}_usage": USAGE.replace("{part}", part) for part in PARTS},
    wildcard_constraints:
        labeler=ENSEMBLE_LABELER,
    params:
        labels=lambda w: config["tasks"][w.task]["labels"],
        labeler=lambda w: labeler_settings(w.labeler),
        members=lambda w: DESIGN.members_of(w.labeler),
        code=fingerprint("combine"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("combine/{task}/{labeler}"),
    benchmark:
        benchmark_file("combine/{task}/{labeler}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/combine.py"


rule agreement:
    input:
        val=SPLIT.replace("{part}", "val"),
        labels=LABELS.replace("{part}", "val"),
        coder_labels=lambda w: config["tasks"][w.task].get("coder_labels", []),
        # an ensemble's members' labels: their pairwise agreement
        members=lambda w: member_files(LABELS, w, "val"),
    output:
        AGREEMENT,
        disagreements=DISAGREEMENTS,
    params:
        labels=lambda w: config["tasks"][w.task]["labels"],
        members=lambda w: DESIGN.members_of(w.labeler),
        positive_label=lambda w: task_spec(w.task).positive_label,
        headline=lambda w: task_spec(w.task).headline,
        label_map=lambda w: task_spec(w.task).label_map,
        alt_test=config["evaluation"]["alt_test"],
        code=fingerprint("agreement"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("agreement/{task}/{labeler}"),
    benchmark:
        benchmark_file("agreement/{task}/{labeler}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/agreement.py"


# On demand, before paying: `snakemake --cores 1 -f estimate_cost` (the cache changes between
# runs without Snakemake seeing it, so force it). Reads the splits and the uncoded plan; sends nothing.
rule estimate_cost:
    input:
        splits=expand(SPLIT, task=TASKS, part=PARTS),
        codebooks=[config["tasks"][task]["codebook"] for task in TASKS],
        uncoded=expand(UNCODED_TEXTS, task=UNCODED_TASKS),
    output:
        expand(TABLE, name="cost_estimate", ext=TABLE_FORMATS),
    params:
        uncoded={
            task: {"texts": UNCODED_TEXTS.format(task=task), "sizes": list(DESIGN.uncoded.train_sizes)}
            for task in UNCODED_TASKS
        },
        splits={task: {part: SPLIT.format(task=task, part=part) for part in PARTS} for task in TASKS},
        tasks={
            task: {
                **{key: config["tasks"][task][key] for key in ("labels", "codebook")},
                "question": task_spec(task).question,
            }
            for task in TASKS
        },
        labelers={source: labeler_settings(source) for source in API_SOURCES},
        tables_dir=lambda w, output: os.path.dirname(output[0]),
        code=fingerprint("estimate_cost"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("estimate_cost"),
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/estimate_cost.py"
