<?xml version="1.0" encoding="utf-8"?>
<!-- Shows a Newsdesk RSS or Atom feed as a readable page when opened in a browser.
     Feed readers ignore it. No script and no inline style: the site's CSP forbids both. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:nd="urn:x-newsdesk:feed:1"
  exclude-result-prefixes="atom nd">
  <xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <xsl:variable name="title" select="/rss/channel/title | /atom:feed/atom:title"/>
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <link rel="stylesheet" href="/static/newsdesk/site.css"/>
      </head>
      <body>
        <header class="topbar"><a class="brand" href="/">Newsdesk</a></header>
        <main id="main" class="feed-preview">
          <h1><xsl:value-of select="$title"/></h1>
          <p class="notice">This is a web feed. To follow it, copy this page's address into your feed reader.
            <xsl:text> </xsl:text>
            <a>
              <xsl:attribute name="href"><xsl:value-of select="/rss/channel/link | /atom:feed/atom:link[not(@rel) or @rel='alternate']/@href"/></xsl:attribute>
              Open this view on the dashboard
            </a></p>
          <p class="muted"><xsl:value-of select="/rss/channel/description | /atom:feed/atom:subtitle"/></p>
          <div class="cards">
            <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
          </div>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item | atom:entry">
    <article class="card">
      <p class="meta">
        <time><xsl:value-of select="pubDate | atom:published | atom:updated[not(../atom:published)]"/></time>
        <xsl:if test="nd:country_name != ''"><span class="country"><xsl:value-of select="nd:country_name"/></span></xsl:if>
        <span class="outlet"><xsl:value-of select="nd:outlet"/></span>
        <xsl:if test="nd:original_language != ''"><span class="lang">(<xsl:value-of select="translate(nd:original_language, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"/>)</span></xsl:if>
      </p>
      <h2 class="headline">
        <a>
          <xsl:attribute name="href"><xsl:value-of select="link | atom:link[not(@rel) or @rel='alternate']/@href"/></xsl:attribute>
          <xsl:value-of select="title | atom:title"/>
        </a>
      </h2>
      <xsl:if test="nd:original_title != ''"><p class="orig-title"><xsl:value-of select="nd:original_title"/></p></xsl:if>
      <p class="summary"><xsl:value-of select="description | atom:summary"/></p>
      <xsl:if test="nd:coverage != '' and nd:coverage &gt; 1"><p class="coverage">📡 Similar Coverage (<xsl:value-of select="nd:coverage - 1"/>)</p></xsl:if>
    </article>
  </xsl:template>
</xsl:stylesheet>
