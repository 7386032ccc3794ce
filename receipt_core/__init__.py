"""Receipt MTL Studio's model package: documents, OCR, data, the multi-task model, freezing and training.

Usable without Streamlit: the dashboard in ``app.py``/``app_pages/`` and the CLI (``python -m receipt_core``)
are thin layers over this package.
"""

__version__ = "0.1.0"
