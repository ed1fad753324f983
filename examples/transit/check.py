#!/usr/bin/env python3
"""check.py -- the Python twin of check.mjs: did the BLS search recover the injected planet?

Shows that the Orrery task protocol is language-neutral: standard library only (json, os, sys),
no Orrery package. Reads the task description named by $ORRERY_TASK, the BLS summary named by
inputs.search, and writes the verdict (a JSON object) to $ORRERY_RESULT.

Detected = the best BLS period is within period_tol (1%) of the injected period, or of its 2x or
0.5x alias (period_match says which), AND the BLS SNR is above snr_min (7).
Params (defaults in brackets): period (injected, days), radius (Earth radii), noise_ppm,
snr_min [7], period_tol [0.01]
"""
import json
import math
import os
import sys

# The aliases accepted, best period / injected period.
MATCHES = [("P", 1.0), ("2P", 2.0), ("P/2", 0.5)]


def fail(message):
    print(f"check.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def num(params, name, default=None):
    value = params.get(name, default)
    try:
        x = float(value)
    except (TypeError, ValueError):
        fail(f"param {name} must be a number, got {json.dumps(value)}")
    if not math.isfinite(x):
        fail(f"param {name} must be a number, got {json.dumps(value)}")
    return x


def main():
    task_file = os.environ.get("ORRERY_TASK")
    if not task_file:
        fail("ORRERY_TASK is not set: run me through Orrery, or set it to a task JSON file")
    with open(task_file, encoding="utf-8") as fh:
        task = json.load(fh)
    params = task.get("params") or {}
    period = num(params, "period")
    radius = num(params, "radius")
    noise_ppm = num(params, "noise_ppm")
    snr_min = num(params, "snr_min", 7)
    period_tol = num(params, "period_tol", 0.01)
    in_path = (task.get("inputs") or {}).get("search") or os.environ.get("ORRERY_INPUT_SEARCH")
    if not in_path:
        fail('no input named "search" in the task')

    with open(in_path, encoding="utf-8") as fh:
        bls = json.load(fh)
    best = bls.get("best") or {}
    try:
        best_period = float(best["period"])
        snr = float(best["snr"])
    except (KeyError, TypeError, ValueError):
        fail(f"{in_path}: best.period and best.snr must be numbers")

    period_match = "none"
    for label, factor in MATCHES:
        if abs(best_period / (period * factor) - 1) < period_tol:
            period_match = label
            break
    detected = period_match != "none" and snr > snr_min

    result = {
        "noise_ppm": noise_ppm,
        "radius": radius,
        "detected": detected,
        "snr": snr,
        "best_period": best_period,
        "period_match": period_match,
        "injected_period": period,
        "snr_min": snr_min,
        "period_tol": period_tol,
    }
    # Pass on what the report needs to describe the data; results hold numbers only, so skip missing ones.
    for key, value in [("depth_ppm", best.get("depth_ppm")), ("sde", best.get("sde")),
                       ("baseline_days", bls.get("baseline_days")), ("cadence_min", bls.get("cadence_min")),
                       ("n_points", bls.get("n_points"))]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            result[key] = value
    result_file = os.environ.get("ORRERY_RESULT")
    if result_file:
        with open(result_file, "w", encoding="utf-8") as fh:
            json.dump(result, fh)
            fh.write("\n")
    verdict = "DETECTED" if detected else "not detected"
    print(f"noise {noise_ppm:g} ppm, Rp {radius:g} R_earth: best P {best_period:.4f} d "
          f"(match: {period_match}), SNR {snr:.1f} -> {verdict}")


if __name__ == "__main__":
    main()
