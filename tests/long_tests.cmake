# Read by ctest after the doctest cases are declared (TEST_INCLUDE_FILES): the two 15-epoch
# MNIST runs of test_resume.cpp take ~110 s each alone and twice that beside each other on two
# cores, so they run one at a time and get a longer limit than the other cases (their commands
# are killed after 540 s: run_script's limit there).
set_tests_properties(
  "Hogwild, 2 workers: stopped by Ctrl-C after epoch 7 of MNIST and resumed, it trains epochs 8..15 on the same schedule"
  "scripts/resumable.sh: a 2-rank MNIST job whose rank is killed after its first checkpoint finishes on its own"
  PROPERTIES TIMEOUT 600 RESOURCE_LOCK fifteen_mnist_epochs)
