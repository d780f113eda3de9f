"""Local REST serving of a registered model version: request validation, scoring, the ASGI app, the process.

Importing this package is cheap; the modules import their heavy dependencies (uvicorn, MLflow) themselves.
"""
