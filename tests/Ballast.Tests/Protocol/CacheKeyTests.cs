using System.Text;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Tests.Protocol;

public sealed class CacheKeyTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("user:42:profile")]
    [InlineData("ключ")]
    public void Valid_keys_are_sent_as_their_utf8_bytes(string key)
    {
        var cacheKey = CacheKey.Create(key, InvalidKeyHandling.Reject);
        Assert.False(cacheKey.IsBase64);
        var buffer = new RequestBuffer();
        cacheKey.WriteTo(buffer);
        Assert.Equal(Encoding.UTF8.GetBytes(key), buffer.WrittenMemory.ToArray());
    }

    [Fact]
    public void A_250_byte_key_is_accepted_and_251_rejected_with_the_length()
    {
        Assert.Equal(250, CacheKey.Create(new string('k', 250), InvalidKeyHandling.Reject).ByteCount);
        var error = Assert.Throws<InvalidCacheKeyException>(() => CacheKey.Create(new string('k', 251), InvalidKeyHandling.Reject));
        Assert.Contains("250", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_injection_attempt_names_the_key_and_the_byte()
    {
        var error = Assert.Throws<InvalidCacheKeyException>(() => CacheKey.Create("k\r\nflush_all", InvalidKeyHandling.Reject));
        Assert.Contains("k\\x0D\\x0Aflush_all", error.Message, StringComparison.Ordinal);
        Assert.Contains("0x0D", error.Message, StringComparison.Ordinal);
        Assert.Equal("key", error.ParamName);
    }

    [Fact]
    public void Base64_keys_travel_encoded_with_the_b_flag()
    {
        var key = CacheKey.Create("has space", InvalidKeyHandling.Base64);
        Assert.True(key.IsBase64);
        var buffer = new RequestBuffer();
        var command = new GetCommand(key) { Opaque = 5 };
        command.WriteRequest(buffer);
        Assert.Equal("mg aGFzIHNwYWNl v f c b O5\r\n", Encoding.ASCII.GetString(buffer.WrittenMemory.Span));
    }

    [Fact]
    public void Unpaired_surrogates_are_rejected()
        => Assert.Throws<InvalidCacheKeyException>(() => CacheKey.Create("bad\uD800", InvalidKeyHandling.Reject));

    [Fact]
    public void Store_requests_are_formatted_as_the_meta_protocol_expects()
    {
        var buffer = new RequestBuffer();
        new StoreCommand(CacheKey.Create("k", InvalidKeyHandling.Reject), "abc"u8.ToArray(), StoreMode.Add, 60, 7, 0) { Opaque = 9 }.WriteRequest(buffer);
        Assert.Equal("ms k 3 c T60 F7 ME O9\r\nabc\r\n", Encoding.ASCII.GetString(buffer.WrittenMemory.Span));
    }
}
