"""facelab: a face-recognition research workbench.

Pipeline stages live one per module:

- :mod:`facelab.data.imageio`        -- reading real-world image files into RGB arrays
- :mod:`facelab.data.datasets`       -- finding, fetching and reading LFW and folder-per-identity sets
- :mod:`facelab.stages.faces`          -- typed detection results (boxes, scores, named keypoints)
- :mod:`facelab.stages.detection`      -- face detectors / landmarkers (dlib, MTCNN)
- :mod:`facelab.stages.alignment`      -- similarity-transform alignment onto the ArcFace template
- :mod:`facelab.models`         -- IR-ResNet registry and checkpoints
- :mod:`facelab.embedders`      -- embedders (dlib ResNet, EdgeFace, PyTorch, ONNX), one module each; embedding files
- :mod:`facelab.core.calibration`    -- distance -> score mapping
- :mod:`facelab.verification`   -- pairs, ROC/DET/EER/TAR@FAR, LFW protocol
- :mod:`facelab.identification.evaluate` -- 1:N evaluation
- :mod:`facelab.analysis.projection`     -- UMAP / PCA / t-SNE views
- :mod:`facelab.plotting`       -- every figure (Display objects)
- :mod:`facelab.report`         -- the evaluation report
"""

__version__ = "0.1.0"
