"""What the documents show, computed from the data and the saved results.

``analysis`` holds task 1's data tables, ``tables`` and ``figures`` the
search's tables and plots, ``findings`` the measured numbers and
verdicts the report's comments quote, ``listing`` a function's real
source in a chapter.
"""
