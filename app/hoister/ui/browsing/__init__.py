"""browsing"""
