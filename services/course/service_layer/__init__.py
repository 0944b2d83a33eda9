"""service_layer"""
