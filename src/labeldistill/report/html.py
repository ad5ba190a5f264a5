"""A single self-contained HTML report: tables as HTML, figures embedded as base64 PNG."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
from jinja2 import Environment

from labeldistill.report.table_formats import display_frame

# (table, heading, note, figures shown below the table)
SECTIONS = (
    (
        "medians",
        "Headline: medians over tasks",
        (
            "Per condition, the median over tasks of the per-task mean (over seeds) F1, precision and "
            "recall of the positive class, as in the paper's headline table."
        ),
        ("f1_by_condition", "f1_by_task"),
    ),
    (
        "gaps",
        "Paired gaps",
        (
            "For each student S and LLM labeler L, per task: F1(S@human) - F1(S@L) (what replacing "
            "human training labels with LLM labels costs) and F1(fewshot@L) - F1(S@L) (what "
            "distilling the LLM into a student costs against using the LLM directly). Positive gaps "
            "favour condition A. Per task, the 95% interval and p-value come from a paired bootstrap: "
            "the same resampled test texts for both conditions, plus the variation over seeds (seed s "
            "of A paired with seed s of B, which trained on the same texts). The 'median' row is the "
            "median over tasks, with a distribution-free interval for the median (its exact coverage "
            "is given; with few tasks it is the range of the gaps and covers less than 95%), the "
            "Wilcoxon signed-rank p-value over tasks and the number of tasks each side wins."
        ),
        ("gaps_by_task",),
    ),
    (
        "paper",
        "The paper's table",
        (
            "PAPER.md's layout, ready to paste (results/tables/paper.md and .tex): per condition the "
            "medians over tasks of F1, precision and recall; then the median paired gaps with the "
            "distribution-free interval of the median and the Wilcoxon signed-rank p-value."
        ),
        (),
    ),
    (
        "label_budget",
        "Label budget: how many human labels is an LLM label worth?",
        (
            "Per task, student, whose labels it learned from and training size: F1 over seeds (mean, "
            "sd, min, max, the seed-mean's 95% interval over test texts, seeds and prompt draws), "
            "how many training labels were human and how many the LLM's, and what they cost (human "
            "labels at human.cost_per_label; an API labeler's at the dollars measured per text; a "
            "self-hosted labeler costs no dollars). Augmented students (human<k>+<LLM>) keep the "
            "human label of k of the same training texts. A seed's smaller draws are nested in its "
            "larger ones. The 'median' rows are medians over tasks."
        ),
        ("label_budget", "label_budget_cost"),
    ),
    (
        "per_task",
        "Per task and condition",
        (
            "Mean and sample standard deviation over seeds. The F1 interval is a 95% interval for the "
            "mean over seeds that covers both the sampling of test texts (a bootstrap over texts, the "
            "same texts for every seed) and the variation over seeds (their variance over the number of "
            "seeds, with Welch-Satterthwaite degrees of freedom); a few-shot condition is one run, so "
            "only the texts vary. The predicted positive share stands beside the human one: a labeler "
            "or student that over- or under-predicts the positive label shows here. Brier score and "
            "expected calibration error (10 equal-width bins) measure the predicted probability of the "
            "positive label against the human labels (in a task of more than two labels, the "
            "probability of the label predicted against whether it is right). The headline is the "
            "score a task is read by: "
            "the positive label's F1 for a task of two labels that names one, else macro-F1 (the mean "
            "F1 over labels), with the 95% interval of its seed-mean. A note marks a task whose test "
            "part holds fewer than 30 texts of a label the headline rests on (see the warnings)."
        ),
        ("reliability", "confusion"),
    ),
    (
        "per_class",
        "Per label: tasks scored by macro-F1",
        (
            "For every task with more than two labels (or none named positive): each label's "
            "precision, recall and F1 against the human test labels (as scikit-learn's "
            "classification_report), the mean over seeds, and the label's test texts. Macro-F1, the "
            "headline, is the mean of the F1 column over the labels present."
        ),
        (),
    ),
    (
        "agreement",
        "Validation: LLM labels against human labels",
        (
            "The LLM's labels of the validation texts against the human gold labels: the positive "
            "label's F1 and macro-F1 side by side, the task's headline (the one it is read by) named. "
            "Cohen's kappa "
            "and Krippendorff's alpha (nominal) correct agreement for chance. Consistency (labelers "
            "that sample several answers per text) is the share of answers agreeing with the label. The "
            "pairwise alpha among single coders is agreement between individual raters, not the "
            "like-for-like baseline for an LLM scored against the gold label: see the next table. "
            "An ensemble labeler's row also gives the mean Cohen's kappa between pairs of its "
            "members on the same texts: members that agree closely add little to one another."
        ),
        (),
    ),
    (
        "coders",
        "Like for like: the LLM against single human coders",
        (
            "Each coder against the gold label recomputed without that coder (majority of the other "
            "coders), on the same validation texts as the LLM: median and quartiles over coders, "
            "beside the LLM against the gold label (F1 of the positive label and macro-F1: a task of "
            "more than two labels is read by the second). The Alternative Annotator Test (Calderon, "
            "Reichart and Dror, 2025) asks, coder by coder, whether the LLM agrees with the other "
            "coders at least as often as the left-out coder does, up to the margin epsilon "
            "(one-sided paired t-tests, Benjamini-Yekutieli correction over coders); the winning rate "
            "is the share of coders the LLM beats, and the LLM can replace a coder when it is at "
            "least 0.5. The last two columns run the correction over every task's coders at once (as "
            "the test's authors do across datasets): the verdict the opening sentences count over tasks."
        ),
        (),
    ),
    (
        "disagreements",
        "Where the LLM and the humans disagree",
        (
            "Per task and LLM labeler, the validation texts whose LLM label is not the human gold "
            "label, the LLM's most confident first (up to 10 here; every one in "
            "results/tables/disagreements.csv): the texts to read when revising the codebook. A "
            "confident disagreement points at the codebook's wording or at the gold label; the coders' "
            "split shows how much the humans agreed on the text. An empty LLM label is a text the "
            "labeler failed on. Validation texts only: the test texts stay unread."
        ),
        (),
    ),
    (
        "corpus",
        "Your corpus: shares of the labels with valid intervals",
        (
            "The chosen student (probabilities averaged over the chosen seeds) labelled every text of "
            "the task's corpus. Per label: naive, the share of its predicted labels (treats the "
            "predictions as the truth: its interval is not valid, it misses the student's errors); "
            "human, the share among the human-labelled test texts alone (valid, ignores the corpus); "
            "PPI++ (prediction-powered inference, Angelopoulos et al. 2023), the corpus's mean "
            "predicted probability corrected by the student's error measured on the test texts "
            "(valid, and narrower the better the student). Effective human labels: how many human "
            "labels PPI++'s interval is worth. The last column is the planner: human-labelled texts "
            "a 95% interval of +- the half width would need, with PPI++ and with human labels alone. "
            "THE ASSUMPTION: the human-labelled test texts are a uniform random sample of the same "
            "population as the corpus (drawn from it, or from the same source, time and filters). "
            "Check it: were the labelled texts drawn at random from the corpus? Do text lengths and "
            "the student's predicted share agree between corpus and test texts (warnings below)? "
            "If not, only the naive figure describes the corpus, and without a valid interval."
        ),
        ("corpus_shares",),
    ),
    (
        "uncoded",
        "Uncoded texts the students learned from",
        (
            "Per task and LLM labeler: the texts nobody coded (tasks.<name>.uncoded), those dropped "
            "because they equal a coded text of the split after case, whitespace, punctuation, URLs and "
            "user handles are ignored (so no student trains on a twin of a test text) or repeat another "
            "uncoded text, and those the LLM labelled for the students (up to the largest of "
            "uncoded.train_sizes). THE ASSUMPTION: the coded texts are a random sample of the same "
            "population as the uncoded ones, so that the test scores hold there. The checks compare the "
            "median length and the LLM's mean probability of the positive label (z of the difference); "
            "they can show that the assumption fails, never prove that it holds."
        ),
        (),
    ),
    (
        "data",
        "Data",
        (
            "Per task: texts, the sizes of the fixed parts, the positives among the test texts, and "
            "texts that share their text with another after case and whitespace are ignored (kept "
            "in one part together, so a test text never has a twin in the pool or among the few-shot "
            "examples)."
        ),
        (),
    ),
    (
        "cost",
        "What labeling cost",
        (
            "Per task and LLM labeler, all parts together: requests sent to a server (retries "
            "included), answers read from the response cache instead, tokens and dollars paid in "
            "this run (empty where no price is known; prompt tokens the provider's prompt cache "
            "served are billed at its cached rate, reasoning tokens as output), and the labeling "
            "jobs' seconds."
        ),
        ("f1_against_cost",),
    ),
)

FIGURE_CAPTIONS = {
    "f1_by_task": "F1 per task and condition: bars are means over seeds, error bars the 95% "
    "interval of that mean over test texts and seeds.",
    "f1_by_condition": "F1 per condition: one dot per task (mean over seeds); the black bar "
    "is the median over tasks.",
    "gaps_by_task": "Paired F1 gaps per task with their 95% intervals (paired bootstrap over test "
    "texts, plus seed variation); diamonds: the median over tasks with its distribution-free "
    "interval. Left of the dashed line favours condition B.",
    "reliability": "Reliability diagrams: per bin of predicted probability of the positive label, "
    "the share of texts the humans labelled positive (seeds pooled; larger markers hold more "
    "texts); for a task of more than two labels, per bin of the probability of the label "
    "predicted, the share predicted right. On the diagonal a probability means what it says.",
    "f1_against_cost": "F1 of each LLM-label condition per task against what its labeler's "
    "labeling of that task cost (dollars where a price is known, otherwise seconds of "
    "labeling); dashed lines are the median F1 of the students trained on human labels.",
    "label_budget": "F1 against the number of training labels, one line per labeler whose labels "
    "the students learned from (band: the lowest to the highest seed); dashed: the LLM used "
    "directly as a few-shot classifier.",
    "label_budget_cost": "The same at equal cost: F1 against what the training labels cost "
    "(human labels at human.cost_per_label, API labels at their measured price, self-hosted "
    "labelers at no dollars).",
    "confusion": "Confusion matrices, one per task (rows) and condition (columns), seeds pooled: "
    "each cell's colour is the share of the human label's test texts (row) given that predicted "
    "label (column), so the diagonal is each label's recall; the number is the mean count per "
    "seed. Failed predictions fall in no column.",
    "corpus_shares": "Share of the positive label in each task's corpus with 95% intervals: naive "
    "(the student's predictions taken as the truth; its interval ignores the student's errors), "
    "human test labels alone, and PPI++ (the predictions corrected by the human labels); beside "
    "it, the same per covariate level.",
}

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #333; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: .88rem; margin: .6rem 0 1rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption, .note { color: #555; font-size: .9rem; }
dt { font-weight: 600; margin-top: .4rem; }
code { background: #f5f5f5; padding: 0 .2rem; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ summary }}</p>
{% if answer %}<h2 id="answer">The answer</h2>
<ul class="answer">
{% for sentence in answer %}<li>{{ sentence }}</li>
{% endfor %}</ul>
<p class="note">Written from the tables below: each figure, interval and its coverage as its
table gives it; the per-task intervals cover the test texts (and seeds) of one fixed split.</p>
{% endif %}

<h2>How to read this report</h2>
<dl>
<dt>Conditions</dt>
<dd><code>STUDENT@human</code>: a student classifier trained on the human labels (the
reference). <code>STUDENT@LLM</code>: the same student trained on an LLM labeler's labels
(knowledge distillation). <code>fewshot@LLM</code>: the LLM labeler itself, its labels of the
test texts used as predictions (one run, so no spread over seeds). Every condition is scored on
the same held-out test texts against the human labels, so conditions are paired.</dd>
<dt>Metrics</dt>
<dd>F1, precision and recall are those of the positive class; a task with more than two labels,
or none named positive, is read by macro-F1 (the mean F1 over labels; "headline" in the tables),
with each label's figures in the per-label table; accuracy is over all test texts;
a text the labeler failed on counts as wrong. Students are trained once per seed, every
labeler's student of one seed on the same training texts; tables show the mean and standard
deviation over seeds. Intervals are 95% intervals that cover the sampling of test texts and
the variation over seeds (see each table). Medians are over tasks.</dd>
<dt>Agreement</dt>
<dd>Cohen's kappa and Krippendorff's alpha (nominal) measure agreement beyond chance (1 =
perfect, 0 = chance level); they are computed over the texts the LLM labelled.</dd>
</dl>

{% for section in sections %}
<h2 id="{{ section.name }}">{{ section.heading }}</h2>
<p class="note">{{ section.note }}</p>
{% if section.html %}<div class="scroll">{{ section.html | safe }}</div>
{% else %}<p class="note">(no rows)</p>{% endif %}
{% if section.warnings %}<p><strong>Warnings</strong></p><ul>
{% for warning in section.warnings %}<li>{{ warning }}</li>
{% endfor %}</ul>{% endif %}
{% for fig in section.figures %}
<figure><img alt="{{ fig.name }}" src="data:image/png;base64,{{ fig.data }}">
<figcaption>{{ fig.caption }}</figcaption></figure>
{% endfor %}
{% endfor %}
</body>
</html>
"""


def table_html(frame: pd.DataFrame, name: str) -> str:
    """A table as HTML under its display names and 3 decimals ('' when it has no rows)."""
    if frame.empty:
        return ""
    return display_frame(frame, name).to_html(index=False, escape=True, border=0)


def embed_png(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_report(
    tables: dict[str, pd.DataFrame],
    figures: dict[str, Path],
    title: str = "labeldistill: LLM labels distilled into students, scored against humans",
    warnings: dict[str, list[str]] | None = None,
    answer: list[str] = (),
) -> str:
    """The page; `warnings`: per section name, sentences listed under its table; `answer`: the
    sentences it opens with (`answer.answer_sentences`)."""
    per_task = tables.get("per_task", pd.DataFrame())
    if per_task.empty:
        summary = "No metrics were found."
    else:
        seeds = per_task.loc[per_task["kind"] == "student", "n_seeds"]
        summary = (
            f"{per_task['task'].nunique()} task(s), {per_task['condition'].nunique()} "
            f"condition(s)" + (f", up to {int(seeds.max())} seed(s) per student" if len(seeds) else "") + "."
        )
    placed = {name for *_, shown in SECTIONS for name in shown}
    sections = [
        {
            "name": name,
            "heading": heading,
            "note": note,
            "html": table_html(tables[name], name) if name in tables else "",
            "figures": [_figure(figure, figures[figure]) for figure in shown if figure in figures],
            "warnings": (warnings or {}).get(name, []),
        }
        for name, heading, note, shown in SECTIONS
        # no corpus section for a run without a corpus, no per-label one without a macro-F1 task
        if (name not in ("corpus", "uncoded", "disagreements") or name in tables)
        and (name != "per_class" or not tables.get("per_class", pd.DataFrame()).empty)
    ]
    # A figure no section names still appears, after the headline.
    sections[0]["figures"] += [_figure(name, path) for name, path in figures.items() if name not in placed]
    template = Environment(autoescape=True).from_string(TEMPLATE)
    return template.render(title=title, summary=summary, sections=sections, answer=list(answer))


def _figure(name: str, path: Path) -> dict:
    return {"name": name, "data": embed_png(path), "caption": FIGURE_CAPTIONS.get(name, name)}


def write_report(
    html_path: Path,
    tables: dict[str, pd.DataFrame],
    figures: dict[str, Path],
    warnings: dict[str, list[str]] | None = None,
    answer: list[str] = (),
) -> Path:
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_report(tables, figures, warnings=warnings, answer=answer), encoding="utf-8")
    return html_path
