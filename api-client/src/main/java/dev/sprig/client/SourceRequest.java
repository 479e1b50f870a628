package dev.sprig.client;

/** Where an import reads an image from: a URL under one of api-server's allowed prefixes. */
public record SourceRequest(String url) {}
