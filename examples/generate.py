"""Generate with a Hugging Face model in bfloat16 (transformers loads it in float32 first)."""

import torch
from transformers import AutoModelForCausalLM


def load(name):
    model = AutoModelForCausalLM.from_pretrained(name).to(torch.bfloat16).cuda()
    return model.eval()
