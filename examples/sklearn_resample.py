"""Balance an imbalanced digits problem with `GANResampler`, then fit a scikit-learn model.

imbalanced-learn's `fit_resample(X, y)` shape, on flattened 8×8 images:

    python examples/sklearn_resample.py
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.svm import SVC

from ganaug import GANAugmenter, GANResampler, load_dataset
from ganaug.data import imbalance

train = imbalance(load_dataset("digits"), {3: 8, 5: 8, 8: 8}, seed=0)  # three rare classes
test = load_dataset("digits", train=False)
X, y = train.data.reshape(len(train), -1), train.targets
X_test = test.data.reshape(len(test), -1)
print("class counts before:", np.bincount(y).tolist())

resampler = GANResampler(GANAugmenter(verbose=False), sampling_strategy="auto", image_shape=(8, 8), random_state=0)
X_res, y_res = resampler.fit_resample(X, y)
print("class counts after: ", np.bincount(y_res).tolist())

for name, (features, labels) in {"original": (X, y), "GAN-resampled": (X_res, y_res)}.items():
    clf = SVC(gamma="scale").fit(features / 255.0, labels)
    score = balanced_accuracy_score(test.targets, clf.predict(X_test / 255.0))
    print(f"balanced accuracy, {name:>13}: {score:.3f}")
