"""What the documents show, from the data and the saved results: task
1's data tables (``analysis``), the search's ``tables`` and ``figures``,
the ``findings`` the report quotes, a function's source (``listing``).
"""
