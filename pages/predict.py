"""predict page (under construction)."""
import streamlit as st

st.title("Predict")
