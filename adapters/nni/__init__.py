"""NNI's spaces (nasbench201, darts, proxylessnas), registered together by .spaces."""
