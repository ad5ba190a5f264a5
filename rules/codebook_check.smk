# On demand, before labeling a whole corpus: `snakemake --cores 2 codebook_check`. Each LLM
# labeler's prompt (each prompt draw) is tried on a sample of val texts, on the examples its
# codebook quotes, and with its examples and labels reordered; the table gives a plain verdict.
rule codebook_check_labeler:
    input:
        unpack(codebook_check_inputs),
    output:
        CODEBOOK_CHECK,
    wildcard_constraints:
        labeler=labeler_pattern(PROMPT_SOURCES),
    params:
        labels=lambda w: config["tasks"][w.task]["labels"],
        question=lambda w: task_spec(w.task).question,
        labeler=lambda w: labeler_settings(w.labeler),
        texts=config["codebook_check"]["texts"],
        seed=config["codebook_check"]["seed"],
        code=fingerprint("codebook_check"),
    threads: lambda w: labeler_threads(w.labeler)
    resources:
        **rule_resources("annotate", "labeler", LABELER_ON_GPU),
    log:
        main=log_file("codebook_check/{task}/{labeler}"),
        server=log_file("codebook_check/{task}/{labeler}", ".server.log"),
    benchmark:
        benchmark_file("codebook_check/{task}/{labeler}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/codebook_check_labeler.py"


rule codebook_check:
    input:
        expand(CODEBOOK_CHECK, task=TASKS, labeler=PROMPT_SOURCES),
    output:
        expand(TABLE, name="codebook_check", ext=TABLE_FORMATS),
    params:
        thresholds={k: v for k, v in config["codebook_check"].items() if k not in ("texts", "seed")},
        tables_dir=lambda w, output: os.path.dirname(output[0]),
        code=fingerprint("codebook_check_table"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("codebook_check"),
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/codebook_check.py"
