"""Models: the LLM backends, the lossless tokenizer, and predictors built on them."""

from lmzip.models.llama_backend import LlamaModel, LlamaSession, WindowSpec, bundled_model_path
from lmzip.models.predictor import LLMPredictor, Predictor
from lmzip.models.tokenizer import LosslessTokenizer

__all__ = [
    "LlamaModel", "LlamaSession", "WindowSpec", "bundled_model_path",
    "LLMPredictor", "Predictor", "LosslessTokenizer",
]
