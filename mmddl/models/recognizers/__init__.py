"""Test-time recognizers (registered in ``mmaction.registry.MODELS``)."""
from .ddl_recognizer import DDLRecognizer, recognizer_views

__all__ = ['DDLRecognizer', 'recognizer_views']
