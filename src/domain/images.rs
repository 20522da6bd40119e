//! Uploaded photos: what kind of image the bytes are (from their content, never from a name or a
//! header), and the same image without the metadata that can say where or by what it was taken.
use img_parts::{jpeg::Jpeg, png::Png, webp::WebP, Bytes, ImageEXIF};

/// The most an upload may be.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    WebP,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::WebP => "image/webp",
        }
    }

    pub fn parse(content_type: &str) -> Option<ImageKind> {
        match content_type {
            "image/jpeg" => Some(ImageKind::Jpeg),
            "image/png" => Some(ImageKind::Png),
            "image/webp" => Some(ImageKind::WebP),
            _ => None,
        }
    }

    /// The kind the first bytes announce.
    pub fn sniff(b: &[u8]) -> Option<ImageKind> {
        if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
            Some(ImageKind::WebP)
        } else {
            None
        }
    }
}

/// JPEG segments that carry metadata: APP1 (EXIF and XMP, where GPS lives), APP13 (IPTC) and
/// comments. APP0 (JFIF), APP2 (ICC colour) and APP14 (Adobe colour transform) are needed to draw
/// the picture and stay.
const JPEG_METADATA: [u8; 3] = [0xE1, 0xED, 0xFE];
/// PNG chunks that carry metadata: EXIF and the three text chunks.
const PNG_METADATA: [[u8; 4]; 4] = [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt"];

/// The image without its metadata, or why it is refused (a message for the uploader).
pub fn clean(bytes: &[u8]) -> Result<(ImageKind, Vec<u8>), &'static str> {
    if bytes.len() > MAX_BYTES {
        return Err("图片不能超过5MB");
    }
    let kind = ImageKind::sniff(bytes).ok_or("仅支持 JPEG、PNG 或 WebP 图片")?;
    let broken = "图片文件已损坏，无法读取";
    let body = Bytes::copy_from_slice(bytes);
    let out = match kind {
        ImageKind::Jpeg => {
            let mut j = Jpeg::from_bytes(body).map_err(|_| broken)?;
            j.segments_mut().retain(|s| !JPEG_METADATA.contains(&s.marker()));
            j.encoder().bytes()
        }
        ImageKind::Png => {
            let mut p = Png::from_bytes(body).map_err(|_| broken)?;
            p.chunks_mut().retain(|c| !PNG_METADATA.contains(&c.kind()));
            p.encoder().bytes()
        }
        ImageKind::WebP => {
            let mut w = WebP::from_bytes(body).map_err(|_| broken)?;
            w.remove_chunks_by_id(img_parts::webp::CHUNK_XMP);
            // Also recomputes the VP8X flags, which must not claim chunks no longer there.
            w.set_exif(None);
            w.encoder().bytes()
        }
    };
    Ok((kind, out.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn location_and_camera_metadata_is_gone_and_the_picture_stays() {
        for (name, kind) in [
            ("gps.jpg", ImageKind::Jpeg),
            ("gps.png", ImageKind::Png),
            ("gps.webp", ImageKind::WebP),
        ] {
            let raw = fixture(name);
            // The fixtures carry a camera name and GPS position in EXIF (PNG also a text chunk).
            assert!(contains(&raw, b"WuyeTestCam"), "{name} fixture");
            let (got, out) = clean(&raw).unwrap();
            assert_eq!(got, kind);
            assert!(!contains(&out, b"WuyeTestCam"), "{name}: EXIF left");
            assert!(!contains(&out, b"Exif\0\0"), "{name}: EXIF header left");
            assert!(!contains(&out, b"Location"), "{name}: text left");
            assert_eq!(ImageKind::sniff(&out), Some(kind));
            // What is left parses again as the same kind of image, and is smaller.
            assert_eq!(clean(&out).unwrap().1, out, "{name}: cleaning is idempotent");
            assert!(out.len() < raw.len());
        }
    }

    #[test]
    fn anything_else_is_refused_by_its_content() {
        assert_eq!(clean(b"GIF89a....").unwrap_err(), "仅支持 JPEG、PNG 或 WebP 图片");
        assert_eq!(
            clean(b"<svg onload=alert(1)>").unwrap_err(),
            "仅支持 JPEG、PNG 或 WebP 图片"
        );
        assert_eq!(clean(b"").unwrap_err(), "仅支持 JPEG、PNG 或 WebP 图片");
        // A PNG signature on garbage.
        assert_eq!(
            clean(b"\x89PNG\r\n\x1a\ngarbage").unwrap_err(),
            "图片文件已损坏，无法读取"
        );
        let big = vec![0xFFu8; MAX_BYTES + 1];
        assert_eq!(clean(&big).unwrap_err(), "图片不能超过5MB");
    }
}
