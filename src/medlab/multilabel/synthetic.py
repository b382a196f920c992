"""A seeded generator of synthetic clinical notes with heavily imbalanced multi-labels.

'healthy' is on >= 90% of notes (the original's 'healthy' held 92.5%); seven conditions
are rare and correlated (diabetes with kidney disease and hypertension). Notes mix
label-specific cues with shared noise; cues are sometimes weak, negated in notes without
the label, or shared between labels (fatigue, breathlessness), so the task is learnable
but not trivially separable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELS = [
    "healthy",
    "hypertension",
    "diabetes",
    "asthma",
    "depression",
    "heart_failure",
    "pneumonia",
    "kidney_disease",
]
# prevalence of each condition before correlations are added
PREVALENCE = {
    "hypertension": 0.06,
    "diabetes": 0.05,
    "asthma": 0.045,
    "depression": 0.045,
    "heart_failure": 0.03,
    "pneumonia": 0.03,
    "kidney_disease": 0.02,
}

CUES = {
    "hypertension": [
        "blood pressure elevated at 162/98",
        "on amlodipine",
        "hypertensive reading again",
        "lisinopril dose increased",
        "headaches with high blood pressure",
    ],
    "diabetes": [
        "HbA1c 8.4%",
        "on metformin",
        "polyuria and polydipsia",
        "fasting glucose raised",
        "diabetic foot check done",
    ],
    "asthma": [
        "wheeze on auscultation",
        "uses salbutamol inhaler",
        "nocturnal cough",
        "peak flow reduced",
        "inhaled steroid continued",
    ],
    "depression": [
        "low mood for several weeks",
        "sertraline started",
        "poor sleep and anhedonia",
        "PHQ-9 score 16",
        "feels hopeless",
    ],
    "heart_failure": [
        "bilateral ankle oedema",
        "orthopnoea",
        "ejection fraction 35%",
        "furosemide increased",
        "raised BNP",
    ],
    "pneumonia": [
        "right basal crackles",
        "consolidation on chest x-ray",
        "fever and productive cough",
        "started amoxicillin",
        "CRP 140",
    ],
    "kidney_disease": [
        "eGFR 38",
        "creatinine rising",
        "proteinuria on dipstick",
        "renal referral made",
        "CKD stage 3b",
    ],
}
SHARED_SYMPTOMS = [
    "fatigue",
    "short of breath on exertion",
    "reduced appetite",
    "mild dizziness",
    "weight change",
]
NOISE = [
    "patient attended for review",
    "routine check-up",
    "vital signs recorded",
    "no known drug allergies",
    "non-smoker",
    "drinks alcohol occasionally",
    "lives with partner",
    "works as a teacher",
    "exercise twice a week",
    "vaccinations up to date",
    "BMI 26",
    "temperature 36.8",
    "heart sounds normal",
    "abdomen soft and non-tender",
    "follow up in twelve months",
    "discussed diet and exercise",
    "reviewed medication list",
    "no new complaints",
    "sleeps well",
    "bloods requested",
]
NEGATIONS = {
    label: [f"no {cue}" for cue in cues[:2]] + [f"denies {cues[2]}"] for label, cues in CUES.items()
}
HEALTHY_CUES = ["feels well", "no concerns today", "examination unremarkable", "fit and active"]


def _conditions(rng: np.random.Generator) -> set[str]:
    present = {label for label, p in PREVALENCE.items() if rng.random() < p}
    if "diabetes" in present and rng.random() < 0.35:
        present.add("kidney_disease")
    if ("diabetes" in present or "kidney_disease" in present) and rng.random() < 0.4:
        present.add("hypertension")
    if "heart_failure" in present and rng.random() < 0.3:
        present.add("hypertension")
    return present


def _note(rng: np.random.Generator, labels: set[str]) -> str:
    parts = list(rng.choice(NOISE, size=rng.integers(3, 7), replace=False))
    # in LABELS order: iterating the set would follow string hashing, which changes per process
    for label in sorted(labels - {"healthy"}, key=LABELS.index):
        # weak signal: one cue in 30% of positive notes, otherwise two or three
        count = 1 if rng.random() < 0.3 else int(rng.integers(2, 4))
        parts += list(rng.choice(CUES[label], size=count, replace=False))
    if "healthy" in labels:
        parts += list(rng.choice(HEALTHY_CUES, size=rng.integers(1, 3), replace=False))
    if rng.random() < 0.35:
        parts.append(str(rng.choice(SHARED_SYMPTOMS)))
    absent = [label for label in CUES if label not in labels]
    if rng.random() < 0.25:
        parts.append(str(rng.choice(NEGATIONS[str(rng.choice(absent))])))
    rng.shuffle(parts)
    return ". ".join(parts).capitalize() + "."


def generate_notes(n: int, seed: int = 0, healthy_rate: float = 0.925) -> pd.DataFrame:
    """``n`` notes with columns id, text, labels (list of label names, never empty).

    A note is 'healthy' with probability ``healthy_rate`` (it may still carry a mild,
    well-controlled condition); otherwise it has at least one condition.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        labels = _conditions(rng)
        if rng.random() < healthy_rate:
            # healthy notes carry a condition rarely (well-controlled chronic disease)
            labels = {"healthy"} | (labels if rng.random() < 0.15 else set())
        elif not labels:
            labels = {
                str(
                    rng.choice(
                        list(PREVALENCE),
                        p=np.array(list(PREVALENCE.values())) / sum(PREVALENCE.values()),
                    )
                )
            }
        rows.append(
            {
                "id": f"note{index:05d}",
                "text": _note(rng, labels),
                "labels": sorted(labels, key=LABELS.index),
            }
        )
    return pd.DataFrame(rows)
