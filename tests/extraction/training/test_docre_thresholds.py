"""fit_thresholds: lowest threshold reaching a smoothed target precision, else dropped."""

from __future__ import annotations

from kg_engine.extraction.training.docre_thresholds import fit_thresholds


def test_fit_thresholds_picks_lowest_precise_cut():
    # P131: precise above 0.8, noisy below
    preds = [("P131", 0.95 - i * 0.01, True) for i in range(10)]
    preds += [("P131", 0.7 - i * 0.01, i % 3 == 0) for i in range(10)]
    fit = fit_thresholds(preds, target=0.8, min_correct=5)
    t = fit["P131"]
    # 12 of the top 14 correct: (12+1)/(14+2) = 0.81; one more and it falls under 0.8
    assert (t.predicted, t.correct, t.candidates) == (14, 12, 20)
    # the cut lies at the 14th score (0.7 - 0.03, i.e. 0.66999…), not above it
    assert 0.7 - 0.04 < t.threshold <= 0.7 - 0.03
    # smoothing: 3 of 3 correct reaches (3+1)/(3+2) = 0.8 only with min_correct <= 3
    few = [("P19", 0.9, True), ("P19", 0.8, True), ("P19", 0.7, True)]
    assert fit_thresholds(few, target=0.8, min_correct=3)["P19"].threshold == 0.7
    assert fit_thresholds(few, target=0.8, min_correct=4)["P19"].threshold is None
    assert fit_thresholds(few, target=0.85, min_correct=1)["P19"].threshold is None


def test_ties_and_floor():
    preds = [("P17", 0.9, True)] * 5 + [("P17", 0.6, True), ("P17", 0.6, False), ("P17", 0.4, True)]
    fit = fit_thresholds(preds, target=0.8, min_correct=5)["P17"]
    # the two 0.6 predictions are cut together (7/9 < 0.8); 0.4 is under the floor
    assert (fit.candidates, fit.threshold, fit.predicted) == (7, 0.9, 5)


def test_threshold_admits_every_prediction_it_counts():
    """The written threshold is 4 decimals rounded DOWN: rounding 0.76488 to 0.7649 dropped the
    lowest of the fitted predictions when the pipeline applied it (Re-DocRED held-out: P17 28/30
    fitted, 27/29 applied)."""
    scores = [0.91, 0.8304, 0.76488, 0.65549, 0.5]
    fit = fit_thresholds([("P17", x, True) for x in scores], target=0.5, min_correct=1)["P17"]
    assert fit.threshold is not None
    assert fit.predicted == sum(x >= fit.threshold for x in scores) == 5
    for low in scores[1:4]:
        t = fit_thresholds([("P17", x, True) for x in scores if x >= low], target=0.5,
                           min_correct=1)["P17"].threshold
        assert t <= low and low - t < 1e-4
