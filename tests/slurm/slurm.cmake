# SLURM tests: a real throwaway one-node cluster (munged, slurmctld, slurmd on localhost) runs the slurm/ scripts.
# Included from tests/CMakeLists.txt. `ctest -L slurm` runs only these; they need root and the Debian packages
# slurmctld slurmd slurm-client munge, and are reported as skipped (exit 77) without them.
set(MANYWORLDS_SLURM_ENV
  ${MANYWORLDS_MPI_ENV} MANYWORLDS_EXE=$<TARGET_FILE:manyworlds>)

# run.sbatch (2 ranks; same data as a direct run), array.sbatch (seed sweep, job-file sweep), a bad job file.
add_test(NAME slurm_run_and_array
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_slurm.sh scripts ${CMAKE_CURRENT_BINARY_DIR}/slurm/scripts)
# preemptible.sbatch: USR1 -> checkpoint and exit 6 -> requeue -> --resume -> same data as an uninterrupted run.
add_test(NAME slurm_preemptible_requeue_resume
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_slurm.sh preemptible ${CMAKE_CURRENT_BINARY_DIR}/slurm/preemptible)

# RUN_SERIAL: each test brings up its own cluster and oversubscribes the cores with MPI ranks.
set_tests_properties(slurm_run_and_array slurm_preemptible_requeue_resume PROPERTIES
  ENVIRONMENT "${MANYWORLDS_SLURM_ENV}" LABELS slurm RUN_SERIAL TRUE TIMEOUT 600 SKIP_RETURN_CODE 77)
