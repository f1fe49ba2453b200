from workloads.testing import WorkloadTestCase


class TestQuadratic(WorkloadTestCase):
    name = "quadratic"
    tiny = {"dim": 4, "steps": 6, "eval_every": 3, "noise": 0.0}
