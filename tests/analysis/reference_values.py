"""Published reference values, with their sources (copied from the project's statistics research note).

Each value was computed by someone else's software or printed in a paper; none
of them is produced by the code under test.
"""

# Newcombe, R. G. (1998). Statistics in Medicine 17:857-872, Table I/II, 95% two-sided, 4 dp.
# Method 3 (Wilson) is cited in m-Py/propint tests and a public JS test suite; methods 4 and 5
# equal R prop.test(correct=TRUE) and binom.test.
NEWCOMBE_1998 = {
    # (x, n): {method: (lower, upper)}
    (81, 263): {
        "wilson": (0.2553, 0.3662),
        "wilson_cc": (0.2535, 0.3682),
        "clopper_pearson": (0.2527, 0.3676),
        "wald": (0.2522, 0.3638),
    },
    (15, 148): {
        "wilson": (0.0624, 0.1605),
        "wilson_cc": (0.0598, 0.1644),
        "clopper_pearson": (0.0578, 0.1617),
        "wald": (0.0527, 0.1500),
    },
    (0, 20): {"wilson": (0.0, 0.1611), "wilson_cc": (0.0, 0.2005), "clopper_pearson": (0.0, 0.1684)},
    (1, 29): {"wilson": (0.0061, 0.1718), "wilson_cc": (0.0018, 0.1963), "clopper_pearson": (0.0009, 0.1776)},
}

# scipy/stats/tests/test_morestats.py (TestBinomTest), values from R 3.6.2 binom.test / prop.test.
SCIPY_R = [
    # (k, n, confidence, method, sides, lower, upper)
    (20, 100, 0.95, "clopper_pearson", "lower", 0.1366613252458672, 1.0),
    (20, 100, 0.95, "clopper_pearson", "two-sided", 0.1266555521019559, 0.2918426890886281),
    (3, 50, 0.99, "clopper_pearson", "lower", 0.008860761, 1.0),
    (3, 50, 0.99, "clopper_pearson", "two-sided", 0.006872485, 0.202706269),
    (10, 10, 0.95, "clopper_pearson", "lower", 0.7411344, 1.0),
    (10, 10, 0.95, "clopper_pearson", "two-sided", 0.6915029, 1.0),
    (0, 10, 0.95, "clopper_pearson", "two-sided", 0.0, 0.3084971),
    (3, 10, 0.95, "wilson_cc", "two-sided", 0.08094782, 0.64632928),
    (3, 10, 0.95, "wilson", "two-sided", 0.1077913, 0.6032219),
    (10, 10, 0.95, "wilson", "two-sided", 0.7224672, 1.0),
    (10, 10, 0.95, "wilson_cc", "two-sided", 0.6554628, 1.0),
    (10, 10, 0.95, "wilson_cc", "lower", 0.7152626, 1.0),
    (10, 10, 0.95, "wilson", "lower", 0.787058, 1.0),
]
# upper one-sided from the same suite: binomtest(20, 100).proportion_ci alternative="less" -> 0.2772002496709138;
# (3, 50, 99%) -> 0.1872093; (0, 10) -> 0.2588656. Checked as two-sided intervals at 2x alpha.
SCIPY_R_UPPER = [(20, 100, 0.90, 0.2772002496709138), (3, 50, 0.98, 0.1872093), (0, 10, 0.90, 0.2588656)]

# statsmodels/stats/tests/results/results_proportion.py (R binom::binom.confint, tol=1e-8)
# and test_proportion.py (R 4.3.3 DescTools).
STATSMODELS_R = [
    (30, 30, 0.95, "clopper_pearson", "two-sided", 0.8842967, None),
    (30, 30, 0.95, "wilson", "two-sided", 0.8864866, None),
    (100, 200, 0.95, "jeffreys", "two-sided", 0.4311217, 0.5688783),
    (100, 200, 0.95, "clopper_pearson", "lower", 0.439641, None),
    (100, 200, 0.95, "wilson", "lower", 0.442235, None),
]

# Exact hypergeometric intervals, cluster-text.com calculator (quoted in apple/ml-sampleplan tests), percent 1 dp.
HYPERGEOMETRIC = [
    # (N, n, x, confidence, lower%, upper%)
    (1000, 100, 42, 0.95, 32.7, 51.7),
    (500, 100, 42, 0.95, 33.2, 51.2),
    (200, 100, 42, 0.95, 35.0, 49.0),
    (1000, 200, 137, 0.95, 62.3, 74.2),
    (1000, 200, 137, 0.99, 60.4, 75.8),
]

# Worked examples of the research note (cross-checked there with statsmodels, scipy and R survey 4.1.1).
WORKED = {
    "146/150 one-sided lower": {"wald": 0.951696, "wilson": 0.941921, "clopper_pearson": 0.940019, "jeffreys": 0.944530},
    "146/150 N=197 exact lower": 0.959391,  # K_L = 189
    "146/150 N=197 exact two-sided": (0.954315, 0.979695),  # [188/197, 193/197]
    "146/150 N=197 wilson n_eff": (625.53, 0.957530, 0.983358),
    "census 30/31": (0.967742, 0.967742),
    "25/25 of 31 lower": 0.967742,
    "24/25 of 31 lower": 0.903226,
}

# Stratified example S1 from the note: N_h=(1200, 800, 500), n_h=(60, 40, 50), x_h=(58, 37, 49);
# SE, Korn-Graubard and xlogit reproduce R survey's svymean/svyciprop.
S1 = [(1200, 60, 58), (800, 40, 37), (500, 50, 49)]
S1_VALUES = {
    "point": 0.956,
    "se": 0.017521,
    "wald": (0.921659, 0.990341),
    "wilson": (0.907485, 0.979644),
    "wilson_neff": 137.02,
    "korn_graubard": (0.906842, 0.983637),
    "kish_neff": 138.89,
}

# Smallest all-satisfied n supporting >=95% at one-sided 95% (note section 5).
MIN_N_ALL_SATISFIED = {None: 59, 31: 24, 34: 26, 197: 50, 200: 47, 1000: 56}
MIN_N_OTHER = {"wilson": 52, "jeffreys": 38}

# Sample size n_first for >=95%, power 80%, one-sided 95% (note section 6).
SAMPLE_SIZE = {
    # expected: (CP N=inf, Wilson N=inf, hyper N=10000, N=1000, N=200)
    0.97: (601, 595, 571, 372, 145),
    0.98: (234, 229, 233, 193, 112),
    0.99: (124, 118, 123, 117, 72),
}

# Brown, Cai & DasGupta (2001): Wald coverage at p=0.005, n=591 -> 0.945; n=592 -> 0.792; p=0.5, n=40 -> 0.919.
BCD_WALD_COVERAGE = [(0.005, 591, 0.945), (0.005, 592, 0.792), (0.5, 40, 0.919)]

# Self-evaluation scoring worked examples (domain note section 5.6).
SCORES = [("≥95%", "97.1%", 10, 10.0), ("≥95%", "92.0%", 10, 9.68), ("≥95%", "80.0%", 10, 8.42),
          ("100%", "98.0%", 10, 9.80), ("≥90分", "86.5分", 10, 9.61)]
