"""Training scripts for the heads we train ourselves on real data, exported to ONNX."""
