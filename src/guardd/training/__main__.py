"""``python -m guardd.training {injection,refusal,grounding} --stage {train,ship,all}``."""

from guardd.training.cli import main

raise SystemExit(main())
