"""Face models: detection (CenterFace, MTCNN), alignment, embeddings (dlib), mask classifier, quality checks."""
