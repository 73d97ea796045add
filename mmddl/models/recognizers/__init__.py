"""Test-time DDL wrappers: video recognizer and face / re-ID group encoder."""
from .base import BaseDDLModel
from .ddl_group_encoder import DDLGroupEncoder
from .ddl_recognizer import DDLRecognizer, recognizer_views

__all__ = [
    'BaseDDLModel', 'DDLRecognizer', 'DDLGroupEncoder', 'recognizer_views'
]
