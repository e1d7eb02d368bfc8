#!/bin/sh
# The peer of Sluice's Slurm runner: what a user without Sluice writes to run
# a pipeline on Slurm. It submits 200 jobs with plain `sbatch --dependency`
# and waits for the last one; the runner must later be within 1.3x of its
# wall time on the same cluster (test/bench/slurm.ts runs both).
#
# The pipeline: a chain of CHAIN jobs (each after the one before), then FAN
# jobs each after the chain's last, then one job after all of them (afterok on
# every one): 20 + 179 + 1 = 200 by default. Each job is one short command
# with its own output file, as a stage's would be. The wait polls squeue every
# 0.5 s until the last job has left PENDING, RUNNING and COMPLETING, then
# checks it COMPLETED (its output is there, the controller forgot it or not).
#
#   test/bench/slurm/peer.sh WORKDIR [CHAIN] [FAN]
set -eu
work=$1
chain=${2:-20}
fan=${3:-179}
mkdir -p "$work/logs"

# submit NAME [SBATCH OPTION...]: the job's id on stdout.
submit() {
  name=$1
  shift
  sbatch --parsable --job-name="$name" --chdir="$work" --output="$work/logs/$name.out" \
    --kill-on-invalid-dep=yes "$@" --wrap "echo $name done"
}

previous=$(submit chain-1)
i=2
while [ "$i" -le "$chain" ]; do
  previous=$(submit "chain-$i" --dependency="afterok:$previous")
  i=$((i + 1))
done

fanned=""
i=1
while [ "$i" -le "$fan" ]; do
  fanned="$fanned:$(submit "fan-$i" --dependency="afterok:$previous")"
  i=$((i + 1))
done
last=$(submit join --dependency="afterok$fanned")

while :; do
  if state=$(squeue --noheader --states=all --jobs="$last" --format=%T 2>/dev/null); then
    case "$state" in
      PENDING | RUNNING | CONFIGURING | COMPLETING) ;;
      *) break ;;
    esac
  fi
  # Still going, or the controller did not answer: ask again.
  sleep 0.5
done
if ! grep -q "join done" "$work/logs/join.out" 2>/dev/null; then
  echo "peer: the last job ($last) did not complete: ${state:-forgotten}" >&2
  exit 1
fi
echo "$last"
