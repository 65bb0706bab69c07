"""`python -m olmoasr ...` (also what `torchrun -m olmoasr train` runs)."""

from olmoasr.cli.main import main

main()
