"""Reference tables of the synthetic generator: sites, conditions, methods and risk effects.

Figures come from shared/REFERENCE-FIGURES.md (§ numbers); where that file says "not found" the
value is our plausible choice, marked (ours). `features.generate` describes how they are used.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from los.config import LONG_STAY_DAYS, SUPER_STRANDED_DAYS
from los.schema import ETHNIC_CODES

DAY = 1440  # minutes
YEAR = 365.25 * DAY
WINDOW = 365 * DAY  # history window of CONTRACT §1
SPELLS_PER_PATIENT_YEAR = 0.37  # measured: spells per pool member per year of window
PLANTED_ETHNIC = ("M", "N", "P", "J", "K")
PLANTED_NCTR_ODDS_RATIO = 2.0
AGE_BANDS = np.array([16, 45, 65, 75, 85])  # bands 0-15, 16-44, 45-64, 65-74, 75-84, 85+
DETAIL = np.array(ETHNIC_CODES[:16], dtype=object)  # A..S
GROUP_OF = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4])  # W, Mx, A, B, Other
# London 2011 detailed shares, % (§1): A B C | D E F G | H J K L | M N P | R S
LONDON = np.array([44.9, 2.2, 12.7, 1.5, 0.8, 1.2, 1.5, 6.6, 2.7, 2.7, 4.9, 4.2, 7, 2.1, 1.5, 3.4])
# Per year of age above 45: log-weight change of each category (older: White British, Irish).
AGE_SLOPE = np.array([25, 20, 0, -25, -25, -25, -25, 0, 0, 0, 0, 10, -10, 0, 0, 0]) / 1000
ETHNIC_IMD_SHIFT = np.array([-1, 0, 0, 2, 2, 0, 0, -1, 4.5, 4.5, 0, 4.5, 4.5, 4.5, -2, 2]) / 10
LONDON_IMD_CUMULATIVE = np.array([2, 16, 33, 47, 58, 69, 78, 87, 96]) / 100  # deciles 1-9, §2


class Site(NamedTuple):
    """An acute site and its catchment."""

    code: str
    share: float  # of spells
    groups: tuple[float, ...]  # White, Mixed, Asian, Black, Other, % (Census 2021 boroughs)
    asian: tuple[float, ...] | None  # H, J, K, L detail when the borough differs from London
    imd_shift: float  # + = more deprived catchment
    stay: float  # log-odds shifts of long stay and NCTR (local flow, care market)
    nctr: float
    unknown: float  # share of ethnicity Z / 99 / blank
    maternity: int  # site index where its births happen


SITES = (
    Site("RYJ01", 0.13, (55, 7, 17, 8, 13), (4, 1.5, 3.5, 5), 0.1, 0.05, 0.1, 0.12, 0),
    Site("RYJ02", 0.10, (62, 7, 11, 12, 8), None, -0.1, 0.0, 0.0, 0.12, 2),
    Site("RYJ03", 0.06, (50, 6, 20, 15, 9), None, 0.2, 0.1, 0.05, 0.12, 2),
    Site("RQM01", 0.12, (65, 7, 11, 8, 9), None, -0.3, -0.1, -0.2, 0.10, 3),
    Site("RQM91", 0.13, (44, 5, 37, 8, 6), (15, 5, 1, 7), 0.1, 0.0, 0.0, 0.10, 4),
    Site("R1K01", 0.20, (35, 5, 40, 14, 6), (17.3, 4.7, 0.5, 10.5), 0.1, 0.1, 0.15, 0.16, 5),
    Site("R1K04", 0.08, (43, 6, 30, 11, 10), None, 0.2, 0.05, 0.1, 0.16, 5),
    Site("RAS01", 0.18, (48, 5, 33, 8, 6), (12, 4, 1, 6), -0.2, -0.05, 0.25, 0.14, 7),
)
SITE_CODES = np.array([s.code for s in SITES], dtype=object)
SITE_SHARES = np.array([s.share for s in SITES])

# (specialty, ICD-10 codes commonest first, weights by age band, sex: "" any, "1" or "2")
EMERGENCY = (
    ("300", ("J18.9", "J18.1", "J69.0"), (3, 4, 6, 9, 11, 12), ""),
    ("340", ("J44.1", "J44.0", "J45.9"), (1, 3, 4, 6, 5, 3), ""),
    ("420", ("J21.9", "J06.9", "R50.9", "A09.9"), (30, 0, 0, 0, 0, 0), ""),
    ("300", ("N39.0", "N10"), (1, 2, 2, 4, 7, 10), ""),
    ("300", ("A41.9",), (1, 1.5, 2.5, 3.5, 4, 4), ""),
    ("320", ("I50.9", "I48.9", "I50.0"), (0, 0.5, 3, 6, 8, 8), ""),
    ("320", ("R07.4", "I21.4", "I20.0"), (0, 3, 7, 6, 4, 2), ""),
    ("328", ("I63.9", "G45.9", "I61.9"), (0, 0.5, 2.5, 4, 5, 5), ""),
    ("300", ("R55", "R06.0", "R51"), (1, 4, 3, 3, 4, 4), ""),
    ("430", ("R29.6", "F05.9", "R41.0"), (0, 0, 0, 1, 5, 10), ""),
    ("110", ("S72.0", "S72.1", "S72.2"), (0, 0.3, 0.7, 1.5, 4, 7), ""),
    ("110", ("S82.8", "S52.5", "S42.2"), (3, 4, 2.5, 1.5, 1.5, 1.5), ""),
    ("100", ("S06.0", "T14.9"), (1, 2, 1, 1, 1.5, 2), ""),
    ("300", ("L03.1",), (0.5, 2, 3, 3, 3, 3), ""),
    ("300", ("N17.9", "E87.1"), (0, 0.3, 1.5, 2.5, 3.5, 5), ""),
    ("301", ("K92.2", "K92.1", "K70.3"), (0, 1.5, 2.5, 2, 2.5, 2.5), ""),
    ("100", ("R10.4", "K35.8", "K80.2", "K56.6"), (3, 9, 6, 4, 3, 2), ""),
    ("300", ("U07.1",), (0.3, 1, 1.5, 2, 2.5, 3), ""),
    ("300", ("E10.1", "E11.6", "E16.2"), (0.5, 1.5, 1.5, 1.5, 1.5, 1.5), ""),
    ("300", ("T39.1", "F10.0", "T42.4"), (0.5, 4, 2, 0.5, 0.2, 0.1), ""),
    ("502", ("O03.9", "O00.9", "N83.2"), (0, 5, 0.5, 0, 0, 0), "2"),
    ("101", ("N20.0", "R33"), (0, 2, 2, 2, 2, 1.5), ""),
    ("370", ("C34.9", "C18.9", "D70"), (0.2, 0.5, 2, 3, 2.5, 1), ""),
    ("180", ("R06.0", "R07.4", "R10.4"), (1, 4, 3, 2, 2, 2), ""),
)
ELECTIVE = (
    ("110", ("M17.9", "M16.9"), (0, 0.5, 4, 7, 5, 1), ""),
    ("110", ("M23.2", "M75.1", "M51.1"), (1, 4, 4, 2, 1, 0.3), ""),
    ("130", ("H25.9", "H40.1"), (0.2, 0.3, 2, 5, 6, 3), ""),
    ("100", ("K40.9", "K80.2", "K42.9"), (1, 4, 5, 4, 2, 0.5), ""),
    ("104", ("C18.9", "C20"), (0, 0.3, 2, 3, 2.5, 0.8), ""),
    ("301", ("K57.3", "K63.5", "K21.9"), (0, 3, 6, 6, 4, 1.5), ""),
    ("101", ("N40",), (0, 0.3, 3, 5, 4.5, 1.5), "1"),
    ("101", ("C67.9", "N20.0"), (0, 1, 2, 2, 2, 1), ""),
    ("502", ("N92.0", "D25.9", "N81.2"), (0, 8, 5, 2, 0.5, 0.1), "2"),
    ("320", ("I25.1", "I48.9"), (0, 0.5, 3, 4, 3, 1), ""),
    ("370", ("Z51.1",), (0.1, 2, 5, 5, 3.5, 1), ""),
    ("120", ("J35.0", "J34.2"), (6, 3, 1, 0.5, 0.2, 0.1), ""),
    ("303", ("D64.9", "D50.9"), (0.2, 0.5, 1.5, 2, 2.5, 2), ""),
    ("420", ("K40.9", "Q53.1"), (4, 0, 0, 0, 0, 0), ""),
)
EMERGENCY_METHODS = ("21", "22", "23", "24", "25", "28", "2A", "2B", "2D")
EMERGENCY_METHOD_SHARES = (0.73, 0.08, 0.01, 0.05, 0.005, 0.04, 0.02, 0.03, 0.035)

# Log-odds effects (ours, tuned to the figures above): long stay, NCTR, death; then wards.
SPECIALTIES: dict[str, tuple[float, float, float, tuple[str, ...]]] = {
    "100": (-0.2, -0.2, 0, ("SURG-1", "SURG-2", "SAU")),
    "101": (-0.5, 0, 0, ("UROLOGY",)),
    "104": (1.0, 0, 0, ("SURG-2",)),
    "110": (0.45, 0.3, 0, ("ORTHO-1", "ORTHO-2")),
    "120": (-1.5, -1.5, 0, ("DAYCASE",)),
    "130": (-2.5, -2.0, 0, ("DAYCASE",)),
    "180": (-1.3, -0.8, -1.0, ("CDU",)),
    "300": (0, 0, 0, ("AMU", "AMU", "MED-1", "MED-2")),
    "301": (-0.3, 0, 0, ("GASTRO", "ENDO-DAY")),
    "303": (-0.2, 0, 0, ("HAEM-DAY",)),
    "320": (-0.25, 0, 0, ("CARDIO", "CCU")),
    "328": (0.7, 0.5, 0, ("STROKE",)),
    "340": (0.05, 0, 0, ("RESP-1", "RESP-2")),
    "370": (0.2, 0, 0, ("ONC-DAY", "ONCOLOGY")),
    "420": (-1.0, -1.5, 0, ("PAEDS",)),
    "424": (-0.5, -3.0, 0, ("POSTNATAL",)),
    "430": (0.55, 0.4, 0, ("ELDERLY-1", "ELDERLY-2", "ELDERLY-3")),
    "501": (-0.5, -1.5, 0, ("LABOUR", "MATERNITY")),
    "502": (-0.8, -1.5, 0, ("GYNAE",)),
}
CHAPTERS = {  # ICD-10 chapter letter of the primary diagnosis (the model sees the chapter)
    "A": (0.35, 0, 0.9),
    "C": (0.4, 0, 1.0),
    "F": (0.35, 0.5, 0),
    "I": (0, 0, 0.25),
    "J": (0.05, 0, 0.35),
    "K": (-0.1, 0, 0),
    "L": (-0.1, 0, 0),
    "M": (-0.3, 0, 0),
    "N": (0, 0, 0.1),
    "O": (-0.5, 0, -2.0),
    "P": (1.2, 0, 0),
    "R": (-0.45, -0.2, -0.6),
    "S": (0.45, 0.3, 0.2),
    "T": (-0.6, 0.3, -0.3),
    "U": (0.25, 0, 0.7),
    "Z": (-1.0, 0, -1.0),
}
GROUPS = {  # elective, emergency, maternity, transfer 81, births 82/83
    "1": (-2.2, -1.4, 0),
    "2": (-1.65, 0, 2.5),
    "3": (-3.0, -5.0, -3.0),
    "81": (-0.3, 0.3, 1.5),
    "82": (-3.5, -5.0, -2.5),
    "83": (-3.5, -5.0, -2.5),
}
SITE_EFFECTS = {s.code: (s.stay, s.nctr, 0.0) for s in SITES}
# Long-stay logit shifts by outcome (died, NCTR, neither): at the default `long_stay` threshold
# and at the super-stranded one (`los.config.LONG_STAY_DAYS`, `SUPER_STRANDED_DAYS`).
SHIFT_LONG_STAY = np.array([0.4, 1.5, 0.0])
SHIFT_SUPER_STRANDED = np.array([-2.2, -0.6, -2.5])
# The stay inside its band, in days (ours): `start + width * Beta(a, b)`. A short stay is
# same-day (uniform over `SAME_DAY`) with a probability set by method, specialty and death, else
# SHORT_STAY; an NCTR patient's short stay leaves room for a delay of at least a day.
SAME_DAY = (0.08, 0.87)  # start, width
SHORT_STAY = (1.0, LONG_STAY_DAYS - 1.0, 1.0, 2.2)  # start, width, a, b
NCTR_SHORT_STAY = (2.0, LONG_STAY_DAYS - 2.0, 1.1, 1.6)
MIDDLE_STAY = (float(LONG_STAY_DAYS), float(SUPER_STRANDED_DAYS - LONG_STAY_DAYS), 1.0, 1.3)
TAIL_STAY = (
    float(SUPER_STRANDED_DAYS),
    30.0,
    365.0 - SUPER_STRANDED_DAYS,
)  # start, Lomax scale (shape 2), cap on the excess: <= 365 days
NCTR_DELAY_BETA = (1.2, 2.4)  # share of an NCTR stay spent waiting; the delay is at least a day
