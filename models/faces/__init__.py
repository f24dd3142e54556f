"""Face models, one module per backend: detection (CenterFace, MTCNN; registry in ``detector.py``), alignment,
embeddings (dlib; registry in ``embedder.py``), mask classifier, quality checks; interfaces in ``base.py``."""
