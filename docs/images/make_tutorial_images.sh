#!/usr/bin/env bash
# The picture of docs/tutorial.md: its commands with small settings, on a synthetic data set in
# CIFAR format (docs/images/synthetic_cifar.py), timed on this machine. Run from the repository
# root, in the environment flash-nas is installed in: bash docs/images/make_tutorial_images.sh
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python docs/images/synthetic_cifar.py "$work/synthetic-cifar" --per-batch 60 --test 100
flash-nas measure --space flash --sample 30 --seed 0 --output "$work/host.csv"
flash-nas calibrate --hardware pi3b --space flash --measurements "$work/host.csv" \
          --target latency_ms --fit-samples 20 --seed 0 --output "$work/my_device.json"
flash-nas train --space flash --budget 8 --data "$work/synthetic-cifar" --epochs 1 \
          --valid-size 60 --threads 1 --seed 0 --output "$work/labels.csv"
flash-nas search --space flash --labels-from "$work/labels.csv:valid_accuracy" \
          --hardware pi3b --profile "$work/my_device.json" --top 5 \
          --output "$work/best.csv" --plot docs/images/tutorial_pareto.png
