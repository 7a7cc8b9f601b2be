"""Peers beside dmguard on one train/test split: bogofilter and scikit-learn.

Called by run.sh; prints one table. Every system is judged by the same
metric code below, from its per-message spam scores.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import matthews_corrcoef, roc_auc_score
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC


def read(path):
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            labels.append(1 if label == "spam" else 0)
            texts.append(text)
    return np.array(labels), texts


def caught_at(y, s, max_ham_rate):
    ham = np.sort(s[y == 0])[::-1]
    allowed = int(np.floor(max_ham_rate * len(ham)))
    # Threshold just above the (allowed+1)-th highest ham score.
    t = ham[allowed] if allowed < len(ham) else -np.inf
    return float(np.mean(s[y == 1] > t))


def figures(name, y, scores, flagged, msgs_per_sec):
    s = np.asarray(scores, dtype=float)
    f = np.asarray(flagged, dtype=bool)
    return {
        "system": name,
        "accuracy": float(np.mean(f == (y == 1))),
        "caught": float(np.mean(f[y == 1])),
        "ham_hit": float(np.mean(f[y == 0])),
        "mcc": float(matthews_corrcoef(y, f)),
        "auc": float(roc_auc_score(y, s)),
        "caught@0.2%": caught_at(y, s, 0.002),
        "msgs_per_sec": msgs_per_sec,
    }


def mbox(texts, path):
    with open(path, "w", encoding="utf-8") as out:
        for t in texts:
            out.write("From sender@example Thu Jan  1 00:00:00 2026\nSubject: \n\n")
            out.write(t.replace("\nFrom ", "\n>From ") + "\n\n")


def bogofilter(train, test, work):
    ytr, ttr = read(train)
    y, texts = read(test)
    db = os.path.join(work, "bogo")
    os.makedirs(db)
    mbox([t for t, l in zip(ttr, ytr) if l], os.path.join(work, "spam.mbox"))
    mbox([t for t, l in zip(ttr, ytr) if not l], os.path.join(work, "ham.mbox"))
    subprocess.run(["bogofilter", "-d", db, "-M", "-s", "-I", os.path.join(work, "spam.mbox")], check=True)
    subprocess.run(["bogofilter", "-d", db, "-M", "-n", "-I", os.path.join(work, "ham.mbox")], check=True)
    mdir = os.path.join(work, "msgs")
    os.makedirs(mdir)
    paths = []
    for i, t in enumerate(texts):
        p = os.path.join(mdir, f"{i:05d}")
        with open(p, "w", encoding="utf-8") as out:
            out.write("Subject: \n\n" + t + "\n")
        paths.append(p)
    start = time.perf_counter()
    out = subprocess.run(["bogofilter", "-d", db, "-T", "-B", *paths], check=False,
                         capture_output=True, text=True).stdout
    secs = time.perf_counter() - start
    scores, flagged = [], []
    for line in out.splitlines():
        parts = line.split()
        scores.append(float(parts[-1]))
        # Unsure ("U") is bogofilter's middle band, not a spam verdict.
        flagged.append(parts[-2] == "S")
    return figures("bogofilter (default cutoffs)", y, scores, flagged, len(texts) / secs)


def sklearn_svm(train, test):
    ytr, ttr = read(train)
    y, texts = read(test)
    vec = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])
    start = time.perf_counter()
    clf = LinearSVC(C=1.0).fit(vec.fit_transform(ttr), ytr)
    train_secs = time.perf_counter() - start
    start = time.perf_counter()
    scores = clf.decision_function(vec.transform(texts))
    secs = time.perf_counter() - start
    row = figures("scikit-learn TF-IDF word+char, linear SVM", y, scores, scores > 0, len(texts) / secs)
    row["train_seconds"] = train_secs
    return row


def dmguard(test, work):
    y, texts = read(test)
    scores, flagged = [], []
    with open(os.path.join(work, "dmguard.out"), encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            scores.append(v["score"])
            flagged.append(v["action"] != "allow")
    t = json.load(open(os.path.join(work, "dmguard.throughput")))
    row = figures("dmguard (built-in model, check)", y, scores, flagged, t["msgs_per_sec"])
    start, end = map(float, open(os.path.join(work, "dmguard.time")).read().split())
    row["cli_lines_per_sec"] = len(texts) / (end - start)
    return row


def main():
    train, test, work = sys.argv[1:4]
    rows = [dmguard(test, work), bogofilter(train, test, work), sklearn_svm(train, test)]
    base = rows[0]["msgs_per_sec"]
    cols = ["accuracy", "caught", "ham_hit", "mcc", "auc", "caught@0.2%"]
    print(f"{'system':44} " + " ".join(f"{c:>11}" for c in cols) + f" {'msgs/s':>11} {'dmguard x':>10}")
    for r in rows:
        vals = " ".join(f"{r[c]:11.4f}" for c in cols)
        print(f"{r['system']:44} {vals} {r['msgs_per_sec']:11.0f} {base / r['msgs_per_sec']:10.1f}")
    extra = {r["system"]: {k: v for k, v in r.items() if k in ("train_seconds", "cli_lines_per_sec")} for r in rows}
    print(json.dumps(extra))


if __name__ == "__main__":
    main()
