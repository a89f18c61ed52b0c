"""Training for guardd's shipped models (the ``train`` extra; never imported by the server).

``python -m guardd.training MODEL`` builds one model end to end: data with a
fixed held-out split, fine-tuning from all-MiniLM-L6-v2 on CPU, ONNX export
through ``guardd models export`` (fp32 and int8), evaluation and the model card.
Only the parts under ``finetune`` need torch; the data, split, augmentation
and metric code is plain Python and unit-tested in the default suite.
"""
