"""How one run trains, and who trains a study's runs: train, executors, Ray, driver, checkpoints, TensorBoard."""
