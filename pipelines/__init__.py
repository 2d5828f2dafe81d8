"""tf.data input pipelines and the training / evaluation programs."""
