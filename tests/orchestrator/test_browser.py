"""What a user sees: headless Chromium on the Ray dashboard and the MLflow UI after a submit.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and selenium
(the ``test`` extra). Screenshots go to ``$SEQLAB_TEST_ARTIFACTS`` (default
``seqlab-runs/test-artifacts/browser``). Run: ``pytest -m browser tests/orchestrator/test_browser.py``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from orchestrator import auth, cluster, ray_jobs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER and importlib.util.find_spec("selenium")),
        reason="needs chromium + chromedriver (apt-get install -y chromium chromium-driver) and selenium (pip install -e '.[test]')",
    ),
]
ARTIFACTS = Path(os.environ.get("SEQLAB_TEST_ARTIFACTS", "seqlab-runs/test-artifacts/browser")).resolve()
FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
         "--disable-component-update --disable-sync --disable-dev-shm-usage --window-size=1400,1000").split()  # fmt: skip
PROBE = """\
# Probe sweep for the browser tests.
name: browser-probe
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: random, seed: 0, num_trials: 3, max_concurrent: 2}
parameters: {lr: {type: float, low: 1.0e-3, high: 0.3, log: true}}
fixed: {steps: 6, eval_every: 2}
"""


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    """A local `up` cluster that has run the probe sweep as a job; taken down afterwards."""
    where = Path(tempfile.mkdtemp(prefix="sq", dir="/tmp"))
    old = os.environ.get("SEQLAB_HOME")
    os.environ["SEQLAB_HOME"] = str(where)
    workdir = tmp_path_factory.mktemp("wd")
    (workdir / "probe.yaml").write_text(PROBE)
    opts = cluster.UpOptions(dashboard_port=cluster.free_port(), mlflow_port=cluster.free_port(), ray_port=cluster.free_port(),
                             client_port=cluster.free_port(), num_cpus=2)  # fmt: skip
    try:
        with cluster.running(opts, where) as state:
            address = state["ray"]["dashboard"]
            sub = ray_jobs.submit(workdir / "probe.yaml", address=address, working_dir=workdir)
            status = ray_jobs.wait(address, sub.job_id, timeout=300)
            assert status == "SUCCEEDED", ray_jobs.logs(address, sub.job_id)[-3000:]
            yield state, sub
    finally:
        if old is None:
            os.environ.pop("SEQLAB_HOME", None)
        else:
            os.environ["SEQLAB_HOME"] = old


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="sqchrome")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(120)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def _wait(driver, condition, timeout: float = 120.0, shot: str | None = None):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        if shot:
            driver.save_screenshot(str(ARTIFACTS / f"FAILED-{shot}.png"))
        raise


def test_dashboard_asks_for_the_token_then_lists_the_sweeps_job(submitted, browser):
    from selenium.webdriver.common.by import By

    state, sub = submitted
    browser.get(f"{state['ray']['dashboard']}/#/jobs")
    box = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input[placeholder*='authentication token']"), shot="dashboard-token")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-token-prompt.png"))
    assert sub.job_id not in _text(browser)  # nothing shown before the token is given
    box[0].send_keys(auth.ensure_token())
    browser.find_element(By.XPATH, "//button[translate(normalize-space(), 'submit', 'SUBMIT')='SUBMIT']").click()
    _wait(browser, lambda d: sub.job_id in _text(d) and "SUCCEEDED" in _text(d), shot="dashboard-jobs")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-jobs.png"))
    assert (ARTIFACTS / "dashboard-jobs.png").stat().st_size > 10_000


def test_mlflow_ui_shows_the_parent_run_its_trials_and_a_metric_chart(submitted, browser):
    from mlflow.tracking import MlflowClient
    from selenium.webdriver.common.by import By

    state, _ = submitted
    url = state["mlflow"]["url"]
    client = MlflowClient(url)
    parent = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.`seqlab.sweep` = 'browser-probe'")[0]
    exp = parent.info.experiment_id
    trials = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert len(trials) == 3

    # The experiment's runs table (training view): the sweep's parent run, collapsed.
    query = urllib.parse.quote(f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    browser.get(f"{url}/#/experiments/{exp}/runs?workflowType=machine_learning&searchFilter={query}")
    _wait(browser, lambda d: d.find_elements(By.XPATH, "//a[normalize-space()='browser-probe' and contains(@href, '/runs/')]"), shot="mlflow-runs")
    time.sleep(1.0)
    link = browser.find_element(By.XPATH, "//a[normalize-space()='browser-probe' and contains(@href, '/runs/')]")
    assert parent.info.run_id in link.get_attribute("href")
    # Expand it: the three trials appear as its child runs.
    expander = link.find_element(By.XPATH, "./../..").find_elements(By.XPATH, ".//button")
    assert expander, "no expander next to the parent run"
    expander[0].click()
    names = {t.info.run_name for t in trials}
    _wait(browser, lambda d: all(n in _text(d) for n in names), shot="mlflow-children")
    browser.save_screenshot(str(ARTIFACTS / "mlflow-parent-and-trials.png"))

    # One trial's metric page draws val/loss as a chart.
    best = min(trials, key=lambda t: t.data.metrics["val/loss"])
    browser.get(f"{url}/#/experiments/{exp}/runs/{best.info.run_id}/model-metrics")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .scatterlayer .trace"), shot="mlflow-chart")
    time.sleep(1.0)
    browser.save_screenshot(str(ARTIFACTS / "mlflow-trial-metric-chart.png"))
    assert "(val/loss)" in _text(browser)  # the chart's legend: run name (metric)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 1
